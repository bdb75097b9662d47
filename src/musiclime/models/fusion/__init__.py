"""Late-fusion detectors from pretrained encoders: the field's way of building an AI-music detector.

An audio encoder (AST, wav2vec2, HuBERT, MERT-style; :mod:`.encoders`, loaded by :mod:`.loading`) and a
lyrics encoder (RoBERTa, BERT, any text encoder) are frozen; a head (:mod:`.head`: per-modality
standardisation, optional PCA, an MLP or a logistic regression) is trained on their embeddings
(:mod:`.head_training`, on a seeded stratified split, :mod:`.splits`). :mod:`.detector` joins them into a
``predict_fn`` with the late-fusion protocol, so an explanation encodes each distinct input once.
:mod:`.tiny` builds tiny random encoders (tests, the offline demo) and the paper-size configs.

Names are imported on first use: ``import musiclime.models.fusion`` costs neither torch nor transformers.
"""

from __future__ import annotations

from ...common.lazy import lazy_getattr

_EXPORTS = {
    **dict.fromkeys(("FusionDetector", "load_fusion_predict_fn", "load_randomized_fusion_predict_fn"), ".detector"),
    **dict.fromkeys(("EncoderError", "EncoderUnavailableError", "HFAudioEncoder", "HFLyricsEncoder"), ".encoders"),
    **dict.fromkeys(("check_encoder_available", "load_audio_encoder", "load_lyrics_encoder"), ".loading"),
    **dict.fromkeys(("FusionHead", "HeadConfig", "HeadError", "load_head", "reinitialise_head", "save_head"), ".head"),
    **dict.fromkeys(("evaluate_head", "train_detector_head", "train_head"), ".head_training"),
    "split_songs": ".splits",
    **dict.fromkeys(("build_paper_size_encoder", "build_tiny_encoder", "paper_size_config"), ".tiny"),
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())
