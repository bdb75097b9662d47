"""A tiny real run for the evidence tests: a song on disk, its separation artifact, glass-box explanations.

Everything goes through the library: ``stages.separate`` reads the stem files, the explainer runs
the glass-box model on the factorization rebuilt from the artifact, explanations are saved as JSON.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from musiclime import LineIndexedString, MusicLIMEExplainer
from musiclime.common.audio import save_audio
from musiclime.models.glassbox import glassbox_predict_fn
from musiclime.pipeline.stages import load_factorization, separate

from .conftest import noise_stems

RATE = 8000
SECONDS = 4.0
SEGMENTS = 6
#: A lyric line holding HTML markup must show as text everywhere; the chorus line repeats.
LYRICS = """[Verse]
first line of the verse
<b>markup</b> & "quotes" in a line
sing the chorus loud
[Chorus]
sing the chorus loud
last line of the song
"""
AUDIO_PLANT = {"drums_T2": 0.22, "vocals_T0": -0.12, "bass_T4": 0.15, "other_T1": 0.08}
LINE_PLANT = {"<b>markup</b> & \"quotes\" in a line": 0.1, "last line of the song": -0.06}


def write_song(folder: Path, song_id: str, seed: int) -> dict:
    """Stem WAVs, the mix and lyrics of one noise song under ``folder``; its ``Song.info()``-style dict."""
    stems = noise_stems(RATE, SECONDS, seed=seed)
    stem_dir = folder / song_id / "stems"
    for name, audio in stems.items():
        save_audio(stem_dir / f"{name}.wav", audio, RATE)
    save_audio(folder / song_id / "mix.wav", sum(stems.values()), RATE)
    (folder / song_id / "lyrics.txt").write_text(LYRICS, encoding="utf-8")
    return {"song_id": song_id, "audio": str(folder / song_id / "mix.wav"), "lyrics": str(folder / song_id / "lyrics.txt"),
            "stems": str(stem_dir), "true_label": seed % 2}


def separate_song(song: dict, out_dir: Path) -> Path:
    """The song's separation artifact ``stems.npz`` (backend ``stems``)."""
    separation = {"backend": "stems", "sample_rate": RATE, "residual": False}
    return separate(song, separation, out_dir / "stems.npz", out_dir / "separation.yaml")


def glassbox_slice(stems_npz: Path, bias: float = 0.45) -> dict:
    """A model config slice whose factory builds the song's glass-box model."""
    return {"name": "glassbox", "batch_size": 16,
            "predict_fn": {"_target_": "musiclime.models.glassbox.glassbox_predict_fn", "stems_npz": str(stems_npz),
                           "temporal_segments": SEGMENTS, "audio_weights": dict(AUDIO_PLANT),
                           "line_weights": dict(LINE_PLANT), "bias": bias}}


def explain_song(song: dict, stems_npz: Path, out_json: Path, seed: int = 0, num_samples: int = 300,
                 predict_fn=None, kernel_width: float = 25.0, lyrics_unit: str = "line") -> Path:
    """Explain the song under the glass-box model (or ``predict_fn``) and save the explanation JSON."""
    from musiclime.factorization.lyrics import make_text_factorization

    fact, _ = load_factorization(stems_npz, SEGMENTS)
    model = predict_fn or glassbox_predict_fn(str(stems_npz), SEGMENTS, AUDIO_PLANT, LINE_PLANT, bias=0.45)
    text = make_text_factorization(Path(song["lyrics"]).read_text(encoding="utf-8"), lyrics_unit)
    explainer = MusicLIMEExplainer(kernel_width=kernel_width, random_state=seed, progress=False)
    explanation = explainer.explain_instance_with_factorization(fact, text, model, num_samples=num_samples,
                                                                labels=None, song_info=song)
    explanation.metadata["parameters"]["seed"] = seed
    return explanation.save_to_json(out_json, num_features=20)


def lines_of_lyrics() -> list[str]:
    return LineIndexedString(LYRICS).lines


__all__ = ["RATE", "SEGMENTS", "LYRICS", "AUDIO_PLANT", "LINE_PLANT", "write_song", "separate_song",
           "glassbox_slice", "explain_song", "lines_of_lyrics", "np"]
