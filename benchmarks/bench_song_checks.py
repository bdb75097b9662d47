"""What checking a dataset's audio costs before the first job: 1,000 three-minute MP3s.

Usage (from the repository root; needs lameenc, the test extra)::

    PYTHONPATH=src python benchmarks/bench_song_checks.py [--files 1000] [--seconds 180] [--workers 2]

A few distinct songs are encoded with LAME (44.1 kHz stereo, 128 kbit/s) and copied to ``--files``
files (each a new file to the check: its own path, size and modification time). Measured, each with
a fresh verdict cache: the check as it was before (``sf.info`` + a full decode in one process, on a
sample of the files, extrapolated), the quick check (structure + the first seconds decoded) in
``--workers`` processes, the same again answered by the cache, and the full check
(``data.audio_check=full``) in ``--workers`` processes on a sample. Prints a table, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.audio_encoders import encode, song  # noqa: E402

from musiclime.common.sample_sheet import Song  # noqa: E402
from musiclime.common.song_checks import FileVerdicts, check_files  # noqa: E402


def old_check(path: Path) -> str | None:
    """The check before issue 34: the header's frame count against a full decode (libsndfile)."""
    import soundfile as sf

    declared = sf.info(str(path)).frames
    audio, _ = sf.read(str(path), dtype="float32", always_2d=True)
    return "truncated" if declared > 0 and audio.shape[0] < declared else None


def timed_check(rows, cache: Path, depth: str, workers: int) -> tuple[float, FileVerdicts, list]:
    verdicts = FileVerdicts(cache, depth=depth, workers=workers)
    start = time.perf_counter()
    problems, _ = check_files(rows, need_stems=False, verdicts=verdicts)
    return time.perf_counter() - start, verdicts, problems


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=180.0)
    parser.add_argument("--distinct", type=int, default=4, help="songs encoded (the rest are copies)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--sample", type=int, default=40, help="files the check before issue 34 is timed on")
    parser.add_argument("--full-sample", type=int, default=200, help="files the full check is timed on")
    parser.add_argument("--json", type=Path, default=None)
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="bench_song_checks-"))
    try:
        start = time.perf_counter()
        sources = [encode("lame_mp3", root / f"source{i}.mp3", song(args.seconds, 44100, seed=i), 44100)
                   for i in range(args.distinct)]
        encode_s = time.perf_counter() - start
        rows = []
        for number in range(args.files):
            audio = root / "songs" / f"song{number:05d}.mp3"
            audio.parent.mkdir(exist_ok=True)
            shutil.copyfile(sources[number % len(sources)], audio)
            lyrics = audio.with_suffix(".txt")
            lyrics.write_text("a line\nanother line\n", encoding="utf-8")
            rows.append((number + 2, Song(f"song{number:05d}", audio, lyrics)))
        size_mb = sum(Path(s).stat().st_size for s in sources) / len(sources) / 1e6
        sample = rows[:args.sample]
        start = time.perf_counter()
        for _, s in sample:
            old_check(s.audio)
        old_per_file = (time.perf_counter() - start) / len(sample)
        quick_s, quick, problems = timed_check(rows, root / "quick.json", "quick", args.workers)
        assert not problems and len(quick.checked) == 2 * args.files, problems[:3]
        cached_s, cached, _ = timed_check(rows, root / "quick.json", "quick", args.workers)
        assert cached.checked == []
        full_s, _, _ = timed_check(rows[:args.full_sample], root / "full.json", "full", args.workers)
        one_s, _, _ = timed_check(sample, root / "one.json", "quick", 1)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    result = {
        "files": args.files, "seconds_per_song": args.seconds, "mb_per_file": round(size_mb, 2),
        "workers": args.workers, "encode_s": round(encode_s, 1),
        "old_full_decode_one_process_s": round(old_per_file * args.files, 1),
        "quick_parallel_s": round(quick_s, 1), "quick_cached_s": round(cached_s, 2),
        "quick_one_process_s": round(one_s / len(sample) * args.files, 1),
        "full_parallel_s": round(full_s / min(args.full_sample, args.files) * args.files, 1),
    }
    rows_out = [("before: sf.info + full decode, 1 process (extrapolated)", result["old_full_decode_one_process_s"]),
                (f"quick check, {args.workers} processes, first time", result["quick_parallel_s"]),
                ("quick check, second time (cached)", result["quick_cached_s"]),
                ("quick check, 1 process (extrapolated)", result["quick_one_process_s"]),
                (f"full check, {args.workers} processes (extrapolated)", result["full_parallel_s"])]
    print(f"{args.files} MP3s of {args.seconds:.0f} s ({size_mb:.1f} MB each, LAME 128 kbit/s 44.1 kHz stereo)")
    print(f"{'check':62s} {'seconds':>8s}")
    for name, value in rows_out:
        print(f"{name:62s} {value:8.2f}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return result


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
