"""The demo song set used by the workflow: ids and paths known before the songs are synthesized.

Songs alternate between the two demo styles (``ai``, label 0; ``human``, label 1); song ``i`` of a
set with seed ``s`` is synthesized from seed ``1000 * s + i``, so the set is reproducible.
"""

from __future__ import annotations

import logging
from pathlib import Path

from .sample_sheet import Song, write_sample_sheet

log = logging.getLogger(__name__)

STYLES = ("ai", "human")


def demo_songs(sample_sheet: str | Path, n_songs: int) -> list[Song]:
    """The ``n_songs`` demo songs of a sheet at ``sample_sheet`` (files may not exist yet)."""
    root = Path(sample_sheet).parent
    songs = []
    for i in range(n_songs):
        style = STYLES[i % 2]
        song_id = f"demo{i:02d}_{style}"
        songs.append(Song(song_id=song_id, audio=root / song_id / "mix.wav", lyrics=root / song_id / "lyrics.txt",
                          stems=root / song_id / "stems", label=STYLES.index(style)))
    return songs


def write_demo_songs(sample_sheet: str | Path, n_songs: int, duration_s: float, seed: int) -> list[Song]:
    """Synthesize the demo songs and their sample sheet (written last, atomically)."""
    from .demo import synthesize_song, write_song

    songs = demo_songs(sample_sheet, n_songs)
    for i, song in enumerate(songs):
        style = STYLES[song.label]
        synthesized = synthesize_song(seed=1000 * seed + i, style=style, duration_s=duration_s)
        write_song(synthesized, song.audio.parent)
        log.info("synthesized %s (%s, %.0f s)", song.song_id, style, duration_s)
    write_sample_sheet(sample_sheet, songs)
    return songs
