"""What tracking costs per explanation as a sweep point grows: 100 to 10,000 explanations.

Usage (from the repository root)::

    PYTHONPATH=src python benchmarks/bench_tracking_scale.py --explanations 100 1000 [--source results/...]

Copies one explanation (``--source``; default: a tiny glass-box explanation made here) under new song
ids, then logs them as ``track_point`` does (one MLflow run per explanation, nested under a parent run,
its explanation JSON, ranking and config as artifacts) into a fresh SQLite store, and times it: the
wall per explanation should stay flat as the point grows. Also times writing and reading the point's
Parquet table (:mod:`musiclime.evidence.result_table`). Prints a table, writes JSON beside this file
(``results/tracking_scale.json``).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from musiclime.pipeline.stages.tracking import track_parent, track_point  # noqa: E402

try:  # absent before the point tables existed: the script also times older checkouts (PYTHONPATH=<old>/src)
    from musiclime.evidence.result_table import load_point_table, write_point_table
except ImportError:
    load_point_table = write_point_table = None


def glassbox_explanation(folder: Path) -> Path:
    from tests.evidence_helpers import explain_song, separate_song, write_song

    song = write_song(folder / "songs", "s0", seed=0)
    stems = separate_song(song, folder / "sep")
    return explain_song(song, stems, folder / "source" / "explanation.json", num_samples=200)


def copies(source: Path, folder: Path, n: int) -> tuple[list[str], list[str]]:
    """``n`` copies of ``source`` under song ids ``song00000`` ..., each with a config beside it."""
    document = json.loads(source.read_text())
    explanations, configs = [], []
    for i in range(n):
        document["metadata"].setdefault("song_info", {})["song_id"] = f"song{i:05d}"
        path = folder / f"song{i:05d}" / "explanation.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document))
        (path.parent / "config.yaml").write_text("explain: {}\n")
        explanations.append(str(path))
        configs.append(str(path.parent / "config.yaml"))
    return explanations, configs


def point_config(uri: str) -> dict:
    explain = {key: 0 for key in ("modality", "num_samples", "temporal_segments", "kernel_width", "distance_scale",
                                  "sampler", "seed", "feature_selection", "num_features", "lyrics_unit")}
    return {"tracking": {"uri": uri, "experiment_name": "scale"}, "explain": explain,
            "model": {"name": "glassbox"}, "separation": {"backend": "stems"}}


def measure(source: Path, n: int, root: Path) -> dict:
    folder = root / f"n{n}"
    explanations, configs = copies(source, folder, n)
    uri = f"sqlite:///{folder / 'mlflow.db'}"
    config = point_config(uri)
    start = time.perf_counter()
    parent = track_parent(config["tracking"], "sweep0", "scale", [], {"p0": []}, folder / "parent.json")
    info = {"id": "p0", "config": config, "overrides": [], "stage_keys": {}, "sweep_name": "scale"}
    first = time.perf_counter()
    track_point(explanations, configs, [], [], [], parent, info, folder / "tracked.json")
    logged = time.perf_counter() - first
    again = time.perf_counter()
    track_point(explanations, configs, [], [], [], parent, info, folder / "tracked.json")
    unchanged = time.perf_counter() - again
    result = {"explanations": n, "parent_s": round(first - start, 2), "log_s": round(logged, 2),
              "log_ms_per_explanation": round(1000 * logged / n, 1), "unchanged_s": round(unchanged, 2),
              "unchanged_ms_per_explanation": round(1000 * unchanged / n, 1), "table_write_s": None,
              "table_read_s": None, "table_rows": 0, "table_mb": None}
    if write_point_table is not None:
        table_start = time.perf_counter()
        write_point_table(explanations, [], folder / "explanations.parquet", "p0")
        result["table_write_s"] = round(time.perf_counter() - table_start, 2)
        read_start = time.perf_counter()
        result["table_rows"] = len(load_point_table(folder / "explanations.parquet"))
        result["table_read_s"] = round(time.perf_counter() - read_start, 3)
        result["table_mb"] = round((folder / "explanations.parquet").stat().st_size / 1e6, 2)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--explanations", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--source", type=Path, default=None, help="an explanation.json to copy")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "tracking_scale.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = args.source or glassbox_explanation(root)
        results = [measure(source, n, root) for n in args.explanations]
    print("| explanations | log (s) | ms / explanation | again, unchanged (ms / explanation) | table write (s) | "
          "table read (s) | rows | MB |")
    print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['explanations']:,} | {r['log_s']} | {r['log_ms_per_explanation']} | "
              f"{r['unchanged_ms_per_explanation']} | {r['table_write_s']} | {r['table_read_s']} | "
              f"{r['table_rows']:,} | {r['table_mb']} |")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
