"""Small random-weight encoders saved like pretrained ones, for tests and benchmarks without downloads.

:func:`build_tiny_encoder` writes a folder in the ``save_pretrained`` layout (``config.json``, weights,
feature extractor or tokenizer) that :mod:`musiclime.models.fusion.loading` reads like any local
encoder: kinds ``ast``, ``wav2vec2``, ``hubert`` (audio, 16 kHz) and ``roberta``, ``bert`` (text,
tokenizer trained here with ``tokenizers`` on a small corpus). :func:`paper_size_config` gives the
architectures of the paper's encoders (AST-base, RoBERTa-large) without their weights.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

AUDIO_KINDS = ("ast", "wav2vec2", "hubert")
TEXT_KINDS = ("roberta", "bert")
PAPER_KINDS = ("ast-base", "roberta-large")
#: hidden size, layers, heads, MLP size of the tiny models
TINY = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64)
#: tokens a tiny text model reads, special tokens included
TINY_TEXT_TOKENS = 64
#: AST spectrogram frames (10 ms each) and mel bands of the tiny AST
TINY_AST_FRAMES, TINY_AST_MELS = 256, 64

CORPUS = [
    "i walked the empty streets tonight", "the city lights were calling out my name",
    "hold me close and never let me go", "we were young and we were running wild",
    "every heartbeat sings a song of you", "the rain keeps falling on my window pane",
    "dancing in the dark until the morning comes", "you said forever but forever came too soon",
    "oh oh oh we light the fire", "take my hand we'll fly away from here",
    "broken hearts and paper dreams", "i remember summer and the taste of salt",
    "turn it up and let the music play", "nobody knows the road that i have walked",
    "singing to the stars above the highway", "love is a river running to the sea",
    "shadows on the wall whisper your name", "baby don't you cry tonight",
    "we'll be golden when the sun goes down", "my heart beats louder than the drums",
]


def build_tiny_encoder(kind: str, folder: str | os.PathLike, seed: int = 0, corpus: list[str] | None = None) -> Path:
    """Save a tiny random-weight encoder of ``kind`` (seeded by ``seed``) in ``folder``; return the folder.

    Text kinds train their tokenizer on ``corpus`` (default :data:`CORPUS`). The folder is built
    beside its target and renamed onto it, replacing an older one.
    """
    if kind not in AUDIO_KINDS + TEXT_KINDS:
        raise ValueError(f"unknown tiny encoder kind {kind!r}; expected one of {AUDIO_KINDS + TEXT_KINDS}")
    return _save(kind, _tiny_config(kind), Path(folder), seed, corpus)


def build_paper_size_encoder(kind: str, folder: str | os.PathLike, seed: int = 0,
                             corpus: list[str] | None = None) -> Path:
    """Like :func:`build_tiny_encoder` at the paper's size (``ast-base``, ``roberta-large``), random weights.

    The weights take the real model's disk space (AST-base ~0.35 GB, RoBERTa-large ~1.4 GB); the
    RoBERTa tokenizer is the small one trained here (its ids fit the real 50265-token embedding
    matrix, which is kept), so only the architecture's cost is realistic.
    """
    return _save(kind.split("-")[0], paper_size_config(kind), Path(folder), seed, corpus, fit_vocabulary=False)


def paper_size_config(kind: str) -> Any:
    """The transformers config of a paper-size encoder: ``ast-base`` or ``roberta-large`` (no weights)."""
    from transformers import ASTConfig, RobertaConfig

    if kind == "ast-base":
        return ASTConfig()  # the defaults are AST-base: hidden 768, 12 layers, 1024 frames, 128 mel bands
    if kind == "roberta-large":
        return RobertaConfig(vocab_size=50265, hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                             intermediate_size=4096, max_position_embeddings=514, type_vocab_size=1,
                             pad_token_id=1, bos_token_id=0, eos_token_id=2)
    raise ValueError(f"unknown paper-size encoder {kind!r}; expected one of {PAPER_KINDS}")


def _tiny_config(kind: str) -> Any:
    import transformers

    if kind == "ast":
        return transformers.ASTConfig(**TINY, max_length=TINY_AST_FRAMES, num_mel_bins=TINY_AST_MELS)
    if kind in ("wav2vec2", "hubert"):
        conv = dict(conv_dim=(16, 16), conv_stride=(5, 4), conv_kernel=(10, 4), num_conv_pos_embeddings=16,
                    num_conv_pos_embedding_groups=2, feat_extract_norm="group", do_stable_layer_norm=False)
        config_class = transformers.Wav2Vec2Config if kind == "wav2vec2" else transformers.HubertConfig
        return config_class(**TINY, **conv)
    positions = TINY_TEXT_TOKENS + 2  # RoBERTa positions start after the padding index
    if kind == "roberta":
        return transformers.RobertaConfig(**TINY, max_position_embeddings=positions, type_vocab_size=1,
                                          pad_token_id=1, bos_token_id=0, eos_token_id=2)
    return transformers.BertConfig(**TINY, max_position_embeddings=positions, pad_token_id=0)


def _save(family: str, config: Any, folder: Path, seed: int, corpus: list[str] | None,
          fit_vocabulary: bool = True) -> Path:
    """Build the model of ``config`` and the preprocessor of ``family``, save both atomically in ``folder``.

    ``fit_vocabulary``: a text model's embedding matrix gets one row per token of the trained
    tokenizer (else the config's ``vocab_size`` is kept).
    """
    import torch
    from transformers import AutoModel

    preprocessor = _preprocessor(family, config, corpus or CORPUS)
    if family in TEXT_KINDS and (fit_vocabulary or config.vocab_size < len(preprocessor)):
        config.vocab_size = len(preprocessor)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModel.from_config(config)
    folder.parent.mkdir(parents=True, exist_ok=True)
    building = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        model.save_pretrained(building)
        preprocessor.save_pretrained(building)
        _plain_modes(building)
        if folder.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{folder.name}.old.", dir=folder.parent))
            os.replace(folder, old / folder.name)
            shutil.rmtree(old)
        os.replace(building, folder)
    finally:
        shutil.rmtree(building, ignore_errors=True)
    log.info("saved a %s encoder (%d parameters, seed %d) in %s", family,
             sum(p.numel() for p in model.parameters()), seed, folder)
    return folder


def _plain_modes(folder: Path) -> None:
    """Give ``folder`` and its files the modes ``mkdir``/``open()`` give under the umask: mkdtemp's and the
    weight writer's owner-only modes would outlive the rename, leaving a shared folder unreadable."""
    from ...common.atomic_io import plain_mode

    folder.chmod(plain_mode(directory=True))
    for path in folder.rglob("*"):
        path.chmod(plain_mode(directory=path.is_dir()))


def _preprocessor(family: str, config: Any, corpus: list[str]) -> Any:
    """The feature extractor (audio) or a tokenizer trained on ``corpus`` (text) of ``family``."""
    from transformers import ASTFeatureExtractor, Wav2Vec2FeatureExtractor

    if family == "ast":
        return ASTFeatureExtractor(max_length=config.max_length, num_mel_bins=config.num_mel_bins)
    if family in ("wav2vec2", "hubert"):
        return Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, padding_value=0.0, do_normalize=True,
                                        return_attention_mask=False)
    if family == "roberta":
        return _roberta_tokenizer(corpus, config.max_position_embeddings - 2)
    if family == "bert":
        return _bert_tokenizer(corpus, config.max_position_embeddings - 2)
    raise ValueError(f"unknown encoder family {family!r}")


def _roberta_tokenizer(corpus: list[str], max_length: int) -> Any:
    """A byte-level BPE tokenizer with RoBERTa's special tokens (``<s>`` 0, ``<pad>`` 1, ``</s>`` 2)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    tokenizer = Tokenizer(models.BPE(unk_token="<unk>"))
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    tokenizer.train_from_iterator(corpus, trainers.BpeTrainer(
        vocab_size=400, special_tokens=specials, show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tokenizer.post_processor = processors.RobertaProcessing(("</s>", 2), ("<s>", 0))
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, bos_token="<s>", eos_token="</s>", unk_token="<unk>",
                                   pad_token="<pad>", mask_token="<mask>", cls_token="<s>", sep_token="</s>",
                                   model_max_length=max_length)


def _bert_tokenizer(corpus: list[str], max_length: int) -> Any:
    """A lower-casing WordPiece tokenizer with BERT's special tokens (``[PAD]`` 0, ``[CLS]``, ``[SEP]``)."""
    from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
    from transformers import PreTrainedTokenizerFast

    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokenizer = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    tokenizer.normalizer = normalizers.BertNormalizer(lowercase=True)
    tokenizer.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    tokenizer.decoder = decoders.WordPiece()
    tokenizer.train_from_iterator(corpus, trainers.WordPieceTrainer(vocab_size=400, special_tokens=specials,
                                                                    show_progress=False))
    tokenizer.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)])
    return PreTrainedTokenizerFast(tokenizer_object=tokenizer, unk_token="[UNK]", pad_token="[PAD]",
                                   cls_token="[CLS]", sep_token="[SEP]", mask_token="[MASK]",
                                   model_max_length=max_length)
