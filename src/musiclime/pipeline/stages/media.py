"""Stage ``song_media``: one explanation -> its pictures and listenable WAVs; ``song_mix``: the song as a WAV.

The media folder of an explanation holds ``heatmap.png``, ``bars.png`` and ``lyrics.png`` (when
``num_features`` > 0) and ``top.wav``, ``removed.wav`` and ``components.json`` (when
``listenable_top_k`` > 0): the top-k positively weighted audio components composed together, and
the song with them removed.
"""

from __future__ import annotations

from pathlib import Path

from ...common.artifacts import load_arrays
from ...common.atomic_io import write_json
from ...common.audio import save_audio
from ..evidence_stages import draw_song_pictures, write_listenable

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
