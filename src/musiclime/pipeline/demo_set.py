"""The demo song set as the workflow sees it: ids and paths known before the songs exist.

:func:`musiclime.demo.write_demo_set` synthesizes song ``i`` as ``demo{i:02d}_{style}`` (styles
alternating ``ai``, ``human``) into the sheet's folder; the workflow needs those ids at parse time.
"""

from __future__ import annotations

from pathlib import Path

from ..common.errors import ConfigError
from ..common.sample_sheet import Song
from ..demo.styles import SET_STYLES

SHEET_NAME = "samples.tsv"


def demo_songs(sample_sheet: str | Path, n_songs: int) -> list[Song]:
    """The ``n_songs`` demo songs whose sheet is ``sample_sheet`` (files may not exist yet)."""
    sample_sheet = Path(sample_sheet)
    if sample_sheet.name != SHEET_NAME:
        raise ConfigError(f"config key data.sample_sheet: the demo set's sheet must be named {SHEET_NAME}, "
                          f"got {sample_sheet}")
    root = sample_sheet.parent
    songs = []
    for i in range(n_songs):
        style = SET_STYLES[i % 2]
        song_id = f"demo{i:02d}_{style}"
        songs.append(Song(song_id=song_id, audio=root / song_id / "mix.wav", lyrics=root / song_id / "lyrics.txt",
                          stems=root / song_id / "stems", label=SET_STYLES.index(style),
                          ground_truth=root / song_id / "ground_truth.json"))
    return songs
