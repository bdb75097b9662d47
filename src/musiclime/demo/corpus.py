"""Writing demo songs to disk: one folder per song, and a demo set with its sample sheet.

Song folder layout::

    <folder>/mix.wav              stereo float32 WAV, the sum of the stems
    <folder>/stems/vocals.wav     (and drums.wav, bass.wav, other.wav)
    <folder>/lyrics.txt           lyrics with [Verse 1] / [Chorus] metadata lines
    <folder>/song.json            seed, style, label, tempo, key, ...
    <folder>/ground_truth.json    where the style's cues are: components, seconds, lyric lines (:mod:`.ground_truth`)

Every file is written atomically; WAVs are 32-bit float and byte-reproducible (:mod:`.wav`).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

from ..common.atomic_io import write_json, write_text
from ..common.audio import save_audio
from ..common.sample_sheet import Song, write_sample_sheet
from .ground_truth import ground_truth
from .styles import SET_STYLES
from .synthesis import STEM_NAMES, DemoSong, synthesize_song

log = logging.getLogger(__name__)



@dataclass(frozen=True)
class SongFiles:
    """Paths of a written song."""

    folder: Path
    mix: Path
    stems_dir: Path
    stems: dict
    lyrics: Path
    info: Path
    ground_truth: Path


def write_song(song: DemoSong, folder: str | os.PathLike) -> SongFiles:
    """Write ``song``'s mix, stems, lyrics, description and ground truth into ``folder`` (created if needed)."""
    folder = Path(folder)
    stems_dir = folder / "stems"
    stems = {name: save_audio(stems_dir / f"{name}.wav", song.stems[name], song.sample_rate)
             for name in STEM_NAMES}
    lyrics = write_text(folder / "lyrics.txt", song.lyrics)
    info = write_json(folder / "song.json", {**song.info, "label_name": song.label_name})
    truth = write_json(folder / "ground_truth.json", ground_truth(song))
    # the mix last: its presence means the song is complete
    mix = save_audio(folder / "mix.wav", song.mix, song.sample_rate)
    return SongFiles(folder=folder, mix=mix, stems_dir=stems_dir, stems=stems, lyrics=lyrics, info=info,
                     ground_truth=truth)


def demo_set_seed(set_seed: int, index: int) -> int:
    """Seed of song ``index`` of the demo set with seed ``set_seed``."""
    return 1000 * int(set_seed) + int(index)


def write_demo_set(out_dir: str | os.PathLike, n_songs: int, seed: int = 0, duration_s: float = 24.0,
                   sample_rate: int = 44100) -> Path:
    """Synthesize ``n_songs`` songs (styles alternating ai, human) into ``out_dir`` and write ``samples.tsv``.

    Song ``i`` is ``demo{i:02d}_{style}``, synthesized from seed ``1000 * seed + i``. The sample sheet
    (header ``song_id, audio, lyrics, stems, label, ground_truth``; paths relative to ``out_dir``) is
    written last.

    Returns:
        Path of ``out_dir/samples.tsv``.
    """
    out_dir = Path(out_dir)
    songs = []
    for i in range(int(n_songs)):
        style = SET_STYLES[i % 2]
        song = synthesize_song(demo_set_seed(seed, i), style, duration_s=duration_s, sample_rate=sample_rate)
        song_id = f"demo{i:02d}_{style}"
        files = write_song(song, out_dir / song_id)
        songs.append(Song(song_id=song_id, audio=files.mix, lyrics=files.lyrics, stems=files.stems_dir,
                          label=song.label, ground_truth=files.ground_truth))
        log.info("wrote demo song %s (seed %d, %.1f s)", song_id, song.seed, song.duration_s)
    return write_sample_sheet(out_dir / "samples.tsv", songs)
