"""The fusion detector: tiny real encoders (saved and loaded as transformers folders) and a trained head, scored
through the late-fusion protocol and the plain path alike; its randomized variants; NaN encoders named."""

import numpy as np
import pytest
import torch

from musiclime.common.errors import ConfigError, PredictionError
from musiclime.common.model_cache import MODELS
from musiclime.method.modality import FeatureLayout
from musiclime.method.scoring.inference import predict_masks
from musiclime.method.scoring.late_fusion import is_late_fusion
from musiclime.models.fusion import (HeadConfig, build_tiny_encoder, load_fusion_predict_fn,
                                     load_randomized_fusion_predict_fn, train_detector_head)
from musiclime.models.fusion.detector import cached_encoders

RATE = 8000  # the conftest factorization's sample rate


@pytest.fixture(scope="module")
def encoder_settings(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoders")
    audio = {"encoder": str(build_tiny_encoder("ast", root / "ast")), "pooling": "mean", "layer": -1,
             "chunk_seconds": None, "batch_size": 4, "trust_remote_code": False}
    lyrics = {"encoder": str(build_tiny_encoder("roberta", root / "roberta")), "pooling": "mean", "layer": -1,
              "max_tokens": None, "long_lyrics": "chunk", "batch_size": 4, "trust_remote_code": False}
    return audio, lyrics


@pytest.fixture(scope="module")
def head_dir(encoder_settings, tmp_path_factory):
    """A head trained on 12 noise clips and texts, labels alternating (what it learns does not matter here)."""
    audio_settings, lyrics_settings = encoder_settings
    audio_encoder, lyrics_encoder = cached_encoders(audio_settings, lyrics_settings, "cpu")
    rng = np.random.default_rng(0)
    clips = (0.1 * rng.standard_normal((12, RATE * 2))).astype(np.float32)
    labels = np.arange(12) % 2
    clips[labels == 1] *= 3.0
    texts = [f"line {i}\nanother line of song {i}" for i in range(12)]
    audio = audio_encoder.encode(clips, RATE).numpy()
    lyrics = lyrics_encoder.encode(texts).numpy()
    folder = tmp_path_factory.mktemp("head")
    train_detector_head(audio, lyrics, labels, [f"s{i}" for i in range(12)],
                        HeadConfig.from_dict({"kind": "mlp", "hidden": [16], "dropout": [0.1], "epochs": 30}), folder,
                        validation=0.25, test=0.25)
    return folder


@pytest.fixture
def detector(encoder_settings, head_dir):
    audio, lyrics = encoder_settings
    return load_fusion_predict_fn(audio, lyrics, str(head_dir), sample_rate=RATE)


def plain(model):
    return lambda texts, audios: model(texts, audios)


def test_the_detector_is_a_late_fusion_model_with_weight_files(detector, head_dir):
    assert is_late_fusion(detector) and detector.sample_rate == RATE
    names = {p.split("/")[-1] for p in detector.weight_files}
    assert {"head.pt", "head.json"} <= names and any(name.endswith(".safetensors") for name in names)


def test_late_fusion_and_plain_paths_agree_and_each_distinct_input_is_encoded_once(detector, factorization,
                                                                                  text_factorization):
    layout = FeatureLayout("both", factorization.get_number_components(), text_factorization.num_words())
    rng = np.random.RandomState(0)
    audio = rng.randint(0, 2, (4, layout.n_audio))
    lyrics = rng.randint(0, 2, (3, layout.n_text))
    audio[0], lyrics[0] = 1, 1
    masks = np.array([np.concatenate([a, t]) for a in audio for t in lyrics])
    fused = predict_masks(factorization, text_factorization, masks, layout, detector, batch_size=5, progress=False)
    direct = predict_masks(factorization, text_factorization, masks, layout, plain(detector), batch_size=5,
                           progress=False)
    np.testing.assert_allclose(fused.predictions, direct.predictions, atol=1e-5)
    costs = fused.costs()
    assert costs["audio_encodings"] == len(np.unique(audio, axis=0))
    assert costs["lyric_encodings"] == len(np.unique(lyrics, axis=0))
    assert costs["fused_rows"] == len(masks) and direct.costs()["model_items"] == len(masks)


def test_encoders_load_once_per_process_and_are_shared_by_the_variants(encoder_settings, head_dir):
    audio, lyrics = encoder_settings
    first = load_fusion_predict_fn(audio, lyrics, str(head_dir), sample_rate=RATE)
    head_only = load_randomized_fusion_predict_fn(audio, lyrics, str(head_dir), sample_rate=RATE, layers="head")
    assert head_only.audio_encoder is first.audio_encoder and head_only.lyrics_encoder is first.lyrics_encoder
    everything = load_randomized_fusion_predict_fn(audio, lyrics, str(head_dir), sample_rate=RATE, layers="all")
    assert everything.audio_encoder is not first.audio_encoder


def test_randomized_variants_change_the_output(detector, encoder_settings, head_dir):
    audio, lyrics = encoder_settings
    clips = (0.1 * np.random.default_rng(1).standard_normal((3, RATE))).astype(np.float32)
    texts = ["one line", "two lines\nhere", "three"]
    trained = detector(texts, clips)
    for layers in ("head", "all"):
        randomized = load_randomized_fusion_predict_fn(audio, lyrics, str(head_dir), sample_rate=RATE, seed=3,
                                                       layers=layers)(texts, clips)
        assert randomized.shape == trained.shape and np.abs(randomized - trained).max() > 1e-4
    with pytest.raises(ConfigError, match="layers"):
        load_randomized_fusion_predict_fn(audio, lyrics, str(head_dir), sample_rate=RATE, layers="bottom")


def test_an_encoder_returning_nan_is_named(detector):
    class NanEncoder:
        dim = detector.lyrics_encoder.dim
        weight_files = []

        def encode(self, texts):
            return torch.full((len(texts), self.dim), float("nan"))

    detector_with_nan = type(detector)(detector.audio_encoder, NanEncoder(), detector.head, RATE)
    with pytest.raises(PredictionError, match="lyrics encoder returned NaN"):
        detector_with_nan(["a line"], np.zeros((1, RATE), dtype=np.float32))


def test_no_head_is_a_config_error_naming_the_key(encoder_settings):
    audio, lyrics = encoder_settings
    with pytest.raises(ConfigError, match="model.head.checkpoint"):
        load_fusion_predict_fn(audio, lyrics, None, sample_rate=RATE)


def teardown_module():
    MODELS.clear()


class ConstantAudioEncoder:
    """An audio encoder of one's own (a `_target_` factory): the clip's RMS and peak."""

    dim, sample_rate, weight_files = 2, RATE, []

    def encode(self, audios, sample_rate):
        audios = torch.as_tensor(np.asarray(audios, dtype=np.float32))
        return torch.stack([audios.pow(2).mean(dim=1).sqrt(), audios.abs().amax(dim=1)], dim=1)


def constant_audio_encoder(device="cpu"):
    return ConstantAudioEncoder()


def test_an_encoder_of_ones_own_plugs_in_through_the_model_config(encoder_settings, tmp_path):
    from hydra.utils import instantiate

    _, lyrics = encoder_settings
    audio = {"_target_": f"{__name__}.constant_audio_encoder"}
    rng = np.random.default_rng(2)
    lyrics_encoder = cached_encoders(encoder_settings[0], lyrics, "cpu")[1]
    texts = [f"text {i}" for i in range(12)]
    train_detector_head(rng.standard_normal((12, 2)).astype(np.float32), lyrics_encoder.encode(texts).numpy(),
                        np.arange(12) % 2, [f"s{i}" for i in range(12)], HeadConfig.from_dict({"epochs": 3}),
                        tmp_path, validation=0.25, test=0.25)
    detector = instantiate({"_target_": "musiclime.models.fusion.load_fusion_predict_fn", "_recursive_": False,
                            "audio": audio, "lyrics": lyrics, "head_dir": str(tmp_path), "sample_rate": RATE})
    assert isinstance(detector.audio_encoder, ConstantAudioEncoder)
    probs = detector(["a line"], np.ones((1, RATE), dtype=np.float32))
    assert probs.shape == (1, 2) and abs(probs.sum() - 1) < 1e-6
