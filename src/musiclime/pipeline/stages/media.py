"""Stage ``song_media``: one explanation -> its pictures and listenable WAVs; ``song_mix``: the song as a WAV.

The media folder of an explanation holds ``heatmap.png``, ``bars.png`` and ``lyrics.png`` (when
``num_features`` > 0) and ``top.wav``, ``removed.wav`` and ``components.json`` (when
``listenable_top_k`` > 0): the top-k positively weighted audio components composed together, and
the song with them removed.

Safe to run in threads of one process: no pyplot, no global state.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ...common.artifacts import load_arrays
from ...common.atomic_io import write_json
from ...common.audio import save_audio
from ...evidence import figures
from ...evidence.listenable import check_same_components, listenable_audio, top_positive_components
from ...method.explanation import load_explanation
from ...method.explanation_views import explained_label, reader_weights
from . import PathLike
from .separation import load_factorization

log = logging.getLogger(__name__)

PICTURES = ("heatmap.png", "bars.png", "lyrics.png")
WAVS = {"top": "top.wav", "removed": "removed.wav"}


def song_media(explanation_json: str | Path, stems_npz: str | Path, media: dict, out_dir: str | Path) -> Path:
    """Draw the pictures and write the WAVs ``media`` asks for into ``out_dir``.

    Args:
        media: ``num_features`` (bars in the top-feature picture; 0 = no pictures) and
            ``listenable_top_k`` (components in ``top.wav``; 0 = no WAVs).
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    if media["num_features"]:
        draw_song_pictures(explanation_json, *(out_dir / name for name in PICTURES),
                           num_features=media["num_features"])
    if media["listenable_top_k"]:
        write_listenable(explanation_json, stems_npz, media["listenable_top_k"], out_dir / WAVS["top"],
                         out_dir / WAVS["removed"], out_meta=out_dir / "components.json")
    write_json(out_dir / "media.json", dict(media))
    return out_dir


def song_mix(stems_npz: str | Path, out_wav: str | Path) -> Path:
    """The song's original mix (as separated from, at the workflow's sample rate) as a WAV for the pages."""
    meta, arrays = load_arrays(stems_npz)
    return save_audio(out_wav, arrays["mix"], meta["sample_rate"])


def draw_song_pictures(explanation_json: PathLike, out_heatmap: PathLike, out_bars: PathLike, out_lyrics: PathLike,
                       num_features: int = 10) -> list[Path]:
    """The song's three PNGs: audio heatmap (sources x segments), top-feature bars, weighted lyrics."""
    explanation = load_explanation(explanation_json)
    label = explained_label(explanation)
    return [figures.draw_audio_heatmap(explanation, label, out_heatmap),
            figures.draw_top_features(explanation, label, num_features, out_bars),
            figures.draw_lyrics(explanation, label, out_lyrics)]


def write_listenable(explanation_json: PathLike, stems_npz: PathLike, k: int, out_top: PathLike,
                     out_removed: PathLike, out_mix: PathLike | None = None,
                     out_meta: PathLike | None = None) -> list[Path]:
    """WAVs of the top-``k`` positively weighted audio components composed together, and of the song without them.

    Args:
        explanation_json: the song's explanation.
        stems_npz: its separation artifact (``stems`` ``(nb_sources, nb_timesteps)``, ``mix``).
        k: ``report.listenable_top_k``.
        out_mix: optional WAV of the original mix, so a report folder plays the song on its own.
        out_meta: optional JSON naming the chosen components and their weights.
    """
    explanation = load_explanation(explanation_json)
    label = explained_label(explanation)
    segments = int(explanation.metadata["factorization"]["temporal_segments"])
    factorization, _ = load_factorization(stems_npz, segments)
    check_same_components(explanation, factorization, f"explanation {explanation_json}")
    components = top_positive_components(explanation, label, k)
    sound = listenable_audio(factorization, components)
    if not components:
        log.warning("%s: no audio component pushed towards %s; the top-%d WAV is silent", explanation_json,
                    explanation.label_name(label), k)
    written = [save_audio(out_top, sound.top, sound.sample_rate), save_audio(out_removed, sound.removed,
                                                                             sound.sample_rate)]
    if out_mix is not None:
        written.append(save_audio(out_mix, factorization.mix, sound.sample_rate))
    if out_meta is not None:
        weights, full_fit = reader_weights(explanation, label)  # the weights the components were chosen by
        by_index = {f["index"]: i for i, f in enumerate(explanation.features) if f["type"] == "audio"}
        written.append(write_json(out_meta, {"label": label, "k": k, "weights": "full_fit" if full_fit else "lime",
                                             "components": [{"component": name, "weight": float(weights[by_index[c]])}
                                                            for name, c in zip(sound.components, components)]}))
    return written
