"""Encoders of the late-fusion model: tiny random-weight AST, wav2vec2, HuBERT, RoBERTa and BERT folders
built by ``tiny.build_tiny_encoder`` and read by the real loading code, offline."""

from __future__ import annotations

import json
import logging
import subprocess
import sys

import numpy as np
import pytest
import torch
import torchaudio
import transformers

from musiclime.common.errors import MusicLimeError
from musiclime.models.fusion import tiny
from musiclime.models.fusion.encoders import AudioEncoder, EncoderError, EncoderUnavailableError, LyricsEncoder
from musiclime.models.fusion.loading import check_encoder_available, load_audio_encoder, load_lyrics_encoder

ATOL = 1e-5
MISSING_HUB_NAME = "musiclime-tests/no-such-encoder"


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("encoders")
    return {kind: tiny.build_tiny_encoder(kind, root / kind) for kind in tiny.AUDIO_KINDS + tiny.TEXT_KINDS}


def audio(kind, folders, **settings):
    return load_audio_encoder({"encoder": str(folders[kind]), **settings})


def lyrics(kind, folders, **settings):
    return load_lyrics_encoder({"encoder": str(folders[kind]), **settings})


def noise(batch, seconds, sample_rate=16000, seed=0):
    """``(batch, seconds * sample_rate)`` float32 noise with a tone, different per row."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    tones = np.sin(2 * np.pi * rng.uniform(200, 2000, (batch, 1)) * t)
    return (0.3 * tones + 0.05 * rng.standard_normal((batch, t.size))).astype(np.float32)


def single_token_words(encoder, n):
    """``n`` words each one token of ``encoder``'s tokenizer, so a token window is a text of those words."""
    words = sorted({w for line in tiny.CORPUS for w in line.split() if "'" not in w})
    ones = [w for w in words if len(encoder.tokenizer(w, add_special_tokens=False)["input_ids"]) == 1]
    assert len(ones) >= 5, ones
    return [ones[i % len(ones)] for i in range(n)]


# --- the tiny encoders load through the real code -------------------------------------------------------------

@pytest.mark.parametrize("kind", tiny.AUDIO_KINDS)
def test_tiny_audio_encoders_load_and_embed(folders, kind):
    encoder = audio(kind, folders)
    assert isinstance(encoder, AudioEncoder) and encoder.dim == 32 and encoder.sample_rate == 16000
    names = {p.name for p in encoder.weight_files}
    assert {"config.json", "model.safetensors", "preprocessor_config.json"} <= names
    embeddings = encoder.encode(torch.from_numpy(noise(2, 1.0)), 16000)
    assert embeddings.shape == (2, 32) and embeddings.dtype == torch.float32 and not embeddings.requires_grad
    assert torch.isfinite(embeddings).all() and not torch.allclose(embeddings[0], embeddings[1])


@pytest.mark.parametrize("kind", tiny.TEXT_KINDS)
def test_tiny_lyrics_encoders_load_and_embed(folders, kind):
    encoder = lyrics(kind, folders)
    assert isinstance(encoder, LyricsEncoder) and encoder.dim == 32 and encoder.max_tokens == tiny.TINY_TEXT_TOKENS
    assert {"config.json", "model.safetensors", "tokenizer.json"} <= {p.name for p in encoder.weight_files}
    embeddings = encoder.encode(["hold me close tonight", "the rain keeps falling", ""])
    assert embeddings.shape == (3, 32) and embeddings.dtype == torch.float32
    assert torch.isfinite(embeddings).all() and not torch.allclose(embeddings[0], embeddings[1])


def test_rebuilding_a_tiny_encoder_replaces_it_atomically(tmp_path):
    first = tiny.build_tiny_encoder("roberta", tmp_path / "enc", seed=0)
    before = (first / "model.safetensors").read_bytes()
    tiny.build_tiny_encoder("roberta", tmp_path / "enc", seed=1)
    assert (first / "model.safetensors").read_bytes() != before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["enc"]  # no temporary folders left behind
    with pytest.raises(ValueError, match="unknown tiny encoder kind"):
        tiny.build_tiny_encoder("gpt", tmp_path / "gpt")


# --- pooling and layer ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("kind, load", [("ast", audio), ("roberta", lyrics), ("bert", lyrics)])
def test_pooling_and_layer_choice_change_the_embedding(folders, kind, load):
    variants = [dict(pooling="mean"), dict(pooling="cls"), dict(pooling="pooler"), dict(layer=1),
                dict(layer=0, pooling="cls")]
    embeddings = []
    for settings in variants:
        encoder = load(kind, folders, **settings)
        if kind == "ast":
            embeddings.append(encoder.encode(noise(1, 1.0), 16000))
        else:
            embeddings.append(encoder.encode(["every heartbeat sings a song of you"]))
    for e in embeddings:
        assert e.shape == (1, 32)
    for i in range(len(embeddings)):
        for j in range(i + 1, len(embeddings)):
            assert not torch.allclose(embeddings[i], embeddings[j], atol=1e-4), (variants[i], variants[j])


def test_pooler_on_a_model_without_one_is_refused(folders):
    encoder = audio("wav2vec2", folders, pooling="pooler")
    with pytest.raises(EncoderError, match=r"model\.audio\.pooling='pooler' but this model has no pooler"):
        encoder.encode(noise(1, 0.5), 16000)


@pytest.mark.parametrize("settings, key", [
    (dict(pooling="max"), "model.lyrics.pooling='max'"),
    (dict(layer=3), "model.lyrics.layer=3"),          # 2 layers: hidden states 0, 1, 2
    (dict(layer=-4), "model.lyrics.layer=-4"),
    (dict(pooling="pooler", layer=1), "model.lyrics.layer=1"),
    (dict(long_lyrics="drop"), "model.lyrics.long_lyrics='drop'"),
    (dict(max_tokens=500), "model.lyrics.max_tokens=500"),
    (dict(batch_size=0), "model.lyrics.batch_size=0"),
    (dict(max_token=10), "model.lyrics.max_token"),
])
def test_bad_settings_name_their_key(folders, settings, key):
    with pytest.raises(EncoderError) as caught:
        lyrics("roberta", folders, **settings)
    assert key in str(caught.value) and isinstance(caught.value, MusicLimeError)


# --- audio: resampling, windows, batches ---------------------------------------------------------------------

def test_audio_at_another_rate_is_resampled(folders):
    encoder = audio("ast", folders)
    clip = noise(1, 1.5, sample_rate=22050)
    by_hand = torchaudio.functional.resample(torch.from_numpy(clip), 22050, 16000)
    resampled = encoder.encode(clip, 22050)
    assert torch.allclose(resampled, encoder.encode(by_hand, 16000), atol=ATOL)
    assert not torch.allclose(resampled, encoder.encode(clip, 16000), atol=1e-3)  # the rate matters


def test_long_audio_is_the_mean_of_its_windows(folders):
    encoder = audio("wav2vec2", folders, chunk_seconds=1.0)
    clip = torch.from_numpy(noise(1, 2.5))[0]
    windows = [clip[0:16000], clip[16000:32000], clip[24000:40000]]  # the last window ends at the clip's end
    by_hand = torch.cat([encoder.encode(w[None], 16000) for w in windows]).mean(dim=0, keepdim=True)
    chunked = encoder.encode(clip[None], 16000)
    assert torch.allclose(chunked, by_hand, atol=ATOL)
    whole = audio("wav2vec2", folders).encode(clip[None], 16000)  # wav2vec2 has no limit of its own
    assert not torch.allclose(chunked, whole, atol=1e-4)


def test_ast_windows_default_to_its_input_length(folders):
    encoder = audio("ast", folders)
    assert encoder.chunk_samples == tiny.TINY_AST_FRAMES * 160  # 256 frames of 10 ms at 16 kHz
    clip = torch.from_numpy(noise(1, 6.0))[0]
    window = encoder.chunk_samples
    starts = [0, window, clip.numel() - window]
    by_hand = torch.cat([encoder.encode(clip[s:s + window][None], 16000) for s in starts]).mean(0, keepdim=True)
    assert torch.allclose(encoder.encode(clip[None], 16000), by_hand, atol=ATOL)


@pytest.mark.parametrize("kind", ["ast", "wav2vec2", "hubert"])
def test_an_audio_embedding_does_not_depend_on_its_batch(folders, kind):
    encoder = audio(kind, folders, batch_size=2)
    clips = [noise(1, seconds, seed=seed)[0] for seed, seconds in enumerate([0.5, 0.8, 0.5, 1.2])]
    batch = encoder.encode(clips, 16000)
    one_by_one = torch.cat([encoder.encode(clip[None], 16000) for clip in clips])
    assert torch.allclose(batch, one_by_one, atol=ATOL)


def test_malformed_audio_is_refused(folders):
    encoder = audio("wav2vec2", folders)
    with pytest.raises(EncoderError, match="batch, nb_timesteps"):
        encoder.encode(np.zeros((1, 2, 16000), np.float32), 16000)
    bad = noise(1, 0.5)
    bad[0, 10] = np.nan
    with pytest.raises(EncoderError, match="non-finite"):
        encoder.encode(bad, 16000)


# --- lyrics: windows, truncation, batches --------------------------------------------------------------------

def test_long_lyrics_chunked_or_truncated(folders, caplog):
    chunking = lyrics("bert", folders, max_tokens=10)  # [CLS] + 8 tokens + [SEP]
    words = single_token_words(chunking, 20)
    text = " ".join(words)
    windows = [words[0:8], words[8:16], words[12:20]]
    by_hand = chunking.encode([" ".join(w) for w in windows]).mean(dim=0, keepdim=True)
    with caplog.at_level(logging.WARNING, logger="musiclime"):
        chunked = chunking.encode([text])
    assert not caplog.records
    assert torch.allclose(chunked, by_hand, atol=ATOL)

    truncating = lyrics("bert", folders, max_tokens=10, long_lyrics="truncate")
    with caplog.at_level(logging.WARNING, logger="musiclime"):
        truncated = truncating.encode([text, "love"])
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "longest 20 tokens" in warnings[0].getMessage()
    assert "model.lyrics.long_lyrics=truncate" in warnings[0].getMessage()
    assert torch.allclose(truncated[:1], truncating.encode([" ".join(words[:8])]), atol=ATOL)
    assert not torch.allclose(truncated[:1], chunked, atol=1e-4)


def test_a_lyrics_embedding_does_not_depend_on_its_batch(folders):
    encoder = lyrics("roberta", folders, batch_size=2)
    texts = ["love", "we were young and we were running wild " * 12, "", "take my hand we'll fly away",
             "broken hearts and paper dreams"]
    batch = encoder.encode(texts)
    one_by_one = torch.cat([encoder.encode([text]) for text in texts])
    assert torch.allclose(batch, one_by_one, atol=ATOL)
    with pytest.raises(EncoderError, match="list of strings"):
        encoder.encode("a bare string")


# --- availability: hub names, folders, no network -------------------------------------------------------------

@pytest.fixture
def no_model_loading(monkeypatch):
    """Any model load fails the test: availability checks must stay cheap."""
    def refuse(*args, **kwargs):
        raise AssertionError("a model was loaded")
    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", refuse)
    monkeypatch.setattr(transformers.AutoModel, "from_config", refuse)


def test_a_hub_name_not_on_this_machine_says_how_to_get_it(no_model_loading, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    settings = {"encoder": MISSING_HUB_NAME}
    with pytest.raises(EncoderUnavailableError) as checked:
        check_encoder_available(settings, "model.lyrics")
    monkeypatch.undo()  # the real loading code, which fails before it reaches the model
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(EncoderUnavailableError) as loaded:
        load_lyrics_encoder(settings)
    for message in (str(checked.value), str(loaded.value)):
        assert f"model.lyrics.encoder='{MISSING_HUB_NAME}'" in message
        assert f"hf download {MISSING_HUB_NAME}" in message and "save_pretrained(DIR)" in message
        assert "model.lyrics.encoder=DIR" in message
    assert str(checked.value) == str(loaded.value)


def test_a_missing_folder_is_named(tmp_path, no_model_loading):
    missing = tmp_path / "nowhere" / "encoder"
    for call in (lambda s: check_encoder_available(s, "model.audio"), load_audio_encoder):
        with pytest.raises(EncoderUnavailableError, match=f"folder {missing} does not exist"):
            call({"encoder": str(missing)})
    (tmp_path / "empty").mkdir()
    with pytest.raises(EncoderUnavailableError, match="holds no config.json"):
        check_encoder_available({"encoder": str(tmp_path / "empty")}, "model.audio")


def test_an_available_encoder_passes_the_check_without_loading(folders, no_model_loading):
    check_encoder_available({"encoder": str(folders["ast"]), "pooling": "cls"}, "model.audio")
    check_encoder_available({"_target_": f"{__name__}.FakeAudioEncoder"}, "model.audio")
    with pytest.raises(EncoderUnavailableError, match=r"model\.audio\._target_='no_such_package\.factory'"):
        check_encoder_available({"_target_": "no_such_package.factory"}, "model.audio")


def test_importing_the_loading_code_stays_light():
    code = ("import sys, musiclime.models.fusion.loading\n"
            "print([m for m in ('torch', 'transformers') if m in sys.modules])")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().replace("'", '"')) == []


def test_remote_code_is_not_trusted_unless_asked(folders, monkeypatch):
    calls = []

    def spy(cls):
        original = cls.from_pretrained

        def from_pretrained(*args, **kwargs):
            calls.append((cls.__name__, kwargs))
            return original(*args, **kwargs)
        monkeypatch.setattr(cls, "from_pretrained", from_pretrained)

    for cls in (transformers.AutoModel, transformers.AutoTokenizer, transformers.AutoFeatureExtractor):
        spy(cls)
    audio("ast", folders)
    lyrics("roberta", folders)
    assert {name for name, _ in calls} == {"AutoModel", "AutoTokenizer", "AutoFeatureExtractor"}
    assert all(kwargs["trust_remote_code"] is False and kwargs["local_files_only"] is True for _, kwargs in calls)
    calls.clear()
    lyrics("roberta", folders, trust_remote_code=True)
    assert calls and all(kwargs["trust_remote_code"] is True for _, kwargs in calls)


# --- _target_ factories ----------------------------------------------------------------------------------------

class FakeAudioEncoder:
    """A factory-built encoder: embeddings are the clip's mean, repeated ``dim`` times."""

    def __init__(self, dim: int = 4, device: str = "cpu", randomize_seed: int | None = None):
        self.dim, self.device, self.randomize_seed = dim, device, randomize_seed
        self.sample_rate, self.weight_files = 16000, []

    def encode(self, audios, sample_rate):
        return torch.as_tensor(np.asarray(audios)).float().mean(dim=1, keepdim=True).repeat(1, self.dim)


def not_an_encoder(**kwargs):
    return "not an encoder"


def fixed_encoder(dim: int = 3):
    """A factory that takes neither device nor randomize_seed."""
    return FakeAudioEncoder(dim=dim)


def test_a_target_factory_builds_the_encoder():
    encoder = load_audio_encoder({"_target_": f"{__name__}.FakeAudioEncoder", "dim": 5}, randomize_seed=7)
    assert isinstance(encoder, FakeAudioEncoder) and encoder.dim == 5 and encoder.randomize_seed == 7
    assert encoder.device == "cpu"
    assert encoder.encode(np.ones((2, 10), np.float32), 16000).shape == (2, 5)
    assert load_audio_encoder({"_target_": f"{__name__}.fixed_encoder"}).dim == 3


def test_a_target_that_is_not_an_encoder_is_refused():
    with pytest.raises(EncoderError, match=r"model\.audio\._target_='.*not_an_encoder' returned a str"):
        load_audio_encoder({"_target_": f"{__name__}.not_an_encoder"})
    with pytest.raises(EncoderError, match=r"model\.audio\._target_=.*takes no randomize_seed"):
        load_audio_encoder({"_target_": f"{__name__}.fixed_encoder"}, randomize_seed=0)


# --- randomized weights (the model randomization check) -------------------------------------------------------

@pytest.mark.parametrize("kind, load, inputs", [
    ("ast", audio, (noise(2, 1.0), 16000)),
    ("roberta", lyrics, (["hold me close", "we were young"],)),
])
def test_randomized_weights_differ_and_follow_the_seed(folders, kind, load, inputs):
    saved = load(kind, folders).encode(*inputs)
    seed_3 = load_audio_encoder if load is audio else load_lyrics_encoder
    settings = {"encoder": str(folders[kind])}
    first, again, other = (seed_3(settings, randomize_seed=seed) for seed in (3, 3, 4))
    assert first.weight_files == [] and first.dim == saved.shape[1]
    a, b, c = first.encode(*inputs), again.encode(*inputs), other.encode(*inputs)
    assert a.shape == saved.shape
    assert torch.allclose(a, b) and not torch.allclose(a, saved, atol=1e-3) and not torch.allclose(a, c, atol=1e-3)


# --- paper-size architectures (configs only) ------------------------------------------------------------------

def test_paper_size_configs():
    ast = tiny.paper_size_config("ast-base")
    assert (ast.hidden_size, ast.num_hidden_layers, ast.max_length, ast.num_mel_bins) == (768, 12, 1024, 128)
    roberta = tiny.paper_size_config("roberta-large")
    assert (roberta.hidden_size, roberta.num_hidden_layers, roberta.num_attention_heads,
            roberta.intermediate_size, roberta.max_position_embeddings) == (1024, 24, 16, 4096, 514)
    with pytest.raises(ValueError, match="unknown paper-size encoder"):
        tiny.paper_size_config("gpt-4")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_encoders_follow_the_device(folders):
    clips, texts = noise(2, 1.0), ["hold me close", "we were young and we were running wild"]
    for load, inputs in ((audio, (clips, 16000)), (lyrics, (texts,))):
        kind = "ast" if load is audio else "roberta"
        on_cpu = load(kind, folders).encode(*inputs)
        on_gpu = (load_audio_encoder if load is audio else load_lyrics_encoder)(
            {"encoder": str(folders[kind])}, device="cuda").encode(*inputs)
        assert on_gpu.device.type == "cuda" and torch.allclose(on_gpu.cpu(), on_cpu, atol=1e-4)
