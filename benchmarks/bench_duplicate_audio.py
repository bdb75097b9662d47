"""What finding the same audio in two rows of a sheet costs at a dataset's scale: 100,000 songs.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/bench_duplicate_audio.py [--files 100000] [--copies 100]

Two sheets of ``--files`` audio files, each with ``--copies`` byte-identical copies under other names:

* ``sizes differ`` (compressed audio: MP3s, FLACs of different lengths): every file has a size of its
  own, so the check is one ``stat`` per file and reads nothing but the copies;
* ``one size`` (uncompressed clips of one duration: every WAV the same size, the worst case): every file
  shares its size, so each is sampled (64 KiB read from its middle), and only the copies are hashed in full.

Files are sparse (random bytes at the start and in the middle that make each distinct, holes between) so
that 100,000 "songs" of 5 MB fit in little disk; reads come from the page cache, so the figures are the
check's own work, not a cold disk's (a cold disk adds one random read per same-size file). Each sheet
is checked twice: with an empty hash cache, then answered by the cache
(``.musiclime/file_hashes.json``, what every later parse of the Snakefile reads). Prints a table,
writes JSON with ``--json``.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

from musiclime.common.atomic_io import write_json
from musiclime.common.duplicate_audio import find_duplicate_audio
from musiclime.common.file_hashes import FileHashes
from musiclime.common.sample_sheet import Song


def make_files(folder: Path, n: int, copies: int, size_of) -> list[tuple[int, Song]]:
    """``n`` sparse files (random bytes at the start and the middle, ``size_of(i)`` bytes long) and ``copies``
    copies."""
    folder.mkdir(parents=True)
    rows = []
    for i in range(n):
        path = folder / f"{i:06d}.wav"
        with open(path, "wb") as handle:
            handle.write(os.urandom(16))
            handle.seek(size_of(i) // 2)
            handle.write(os.urandom(16))
            handle.truncate(size_of(i))
        rows.append((i + 2, Song(f"s{i}", path, None)))
    for j in range(copies):
        source = rows[j * (n // max(copies, 1))][1].audio
        copy = folder / f"copy-{j:04d}.wav"
        shutil.copyfile(source, copy)
        rows.append((n + j + 2, Song(f"copy{j}", copy, None)))
    return rows


def timed(rows, cache: Path) -> tuple[float, int, int]:
    start = time.perf_counter()
    hashes = FileHashes(cache)
    groups = find_duplicate_audio(rows, hashes)
    hashes.save()
    return time.perf_counter() - start, len(groups), len(hashes.computed)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=100_000)
    parser.add_argument("--copies", type=int, default=100)
    parser.add_argument("--size", type=int, default=5_292_044, help="bytes of every file of the one-size sheet "
                                                                     "(default: a 30 s 44.1 kHz stereo WAV)")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench_duplicate_audio-"))
    results = {"files": args.files, "copies": args.copies, "cpus": len(os.sched_getaffinity(0)), "sheets": {}}
    try:
        for name, size_of in (("sizes differ", lambda i: 1_000_000 + 7 * i), ("one size", lambda i: args.size)):
            folder = root / name.replace(" ", "-")
            rows = make_files(folder, args.files, args.copies, size_of)
            cache = folder / "file_hashes.json"
            first, groups, hashed = timed(rows, cache)
            second, _, again = timed(rows, cache)
            results["sheets"][name] = {"first_s": first, "cached_s": second, "groups": groups,
                                       "hashes_computed": hashed, "hashes_computed_cached": again,
                                       "cache_bytes": cache.stat().st_size if cache.exists() else 0}
            shutil.rmtree(folder)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    print(f"{'sheet':<14} {'rows':>8} {'first run':>10} {'cached':>8} {'groups':>7} {'hashes':>7} {'cache':>9}")
    for name, r in results["sheets"].items():
        print(f"{name:<14} {args.files + args.copies:>8} {r['first_s']:>9.2f}s {r['cached_s']:>7.2f}s "
              f"{r['groups']:>7} {r['hashes_computed']:>7} {r['cache_bytes'] / 1e6:>7.1f}MB")
    if args.json:
        write_json(args.json, results)
    return results


if __name__ == "__main__":
    sys.exit(0 if main() else 1)
