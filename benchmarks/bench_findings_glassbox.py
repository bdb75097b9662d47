"""The findings against known answers, and what they cost as songs grow.

1. Glass box (tests/findings_glassbox.py): 200 songs a draw with planted class effects per audio
   component and stem, song-to-song and seed-to-seed variation, a null cohort; over ``--repeats`` draws:
   how often the 90% intervals cover the planted values, how often a null difference "holds" (per
   correction), sign errors, power; then the same coverage with ``--class-sizes`` songs a class.
2. Cost: the intervals of the importance table and the findings for ``--songs`` songs (3 mask seeds
   each, 40 components, ``--lines`` song-specific lyric lines a song: each a key of its own).

    PYTHONPATH=src python benchmarks/bench_findings_glassbox.py --repeats 100 --songs 1000 10000
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy import sparse

sys.path[:0] = [str(Path(__file__).resolve().parents[1]), str(Path(__file__).resolve().parents[1] / "src")]

from musiclime.evidence.dataset_findings import Settings, dataset_findings  # noqa: E402
from musiclime.evidence.importance_intervals import importance_intervals  # noqa: E402
from musiclime.evidence.song_table import SongTable  # noqa: E402
from tests.findings_glassbox import check_repeats, make_plant, planted_table  # noqa: E402


def with_lines(table: SongTable, lines: int, rng: np.random.Generator) -> SongTable:
    """The table with ``lines`` song-specific lyric line keys per song (a weight on each row of the song)."""
    if not lines:
        return table
    n_rows = len(table.song_of_row)
    columns = table.song_of_row[:, None] * lines + np.arange(lines)[None, :]
    values = rng.gamma(2.0, 0.02, (n_rows, lines))
    extra = sparse.csr_matrix((values.ravel(), columns.ravel(), np.arange(0, n_rows * lines + 1, lines)),
                              shape=(n_rows, table.n_songs * lines))
    keys = table.keys + [("line", f"song {s} line {j}") for s in range(table.n_songs) for j in range(lines)]
    return SongTable(table.song_ids, table.classes, table.class_names, table.song_of_row, keys,
                     sparse.hstack([table.weights, extra]).tocsr(), table.players, table.exact, table.metrics,
                     table.trust, table.cohorts, table.main_rows)


def cost(songs: int, lines: int, replicates: int) -> dict:
    rng = np.random.default_rng(0)
    table = with_lines(planted_table(make_plant(), rng, songs // 2), lines, rng)
    start = time.perf_counter()
    importance_intervals(table, "paper", 0.9, replicates, 0)
    intervals_s = time.perf_counter() - start
    start = time.perf_counter()
    rows = dataset_findings(table, Settings(replicates=replicates))
    findings_s = time.perf_counter() - start
    return {"songs": songs, "keys": len(table.keys), "replicates": replicates, "intervals_s": intervals_s,
            "findings_s": findings_s, "rows": len(rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--replicates", type=int, default=200, help="bootstrap replications in the glass box")
    parser.add_argument("--class-sizes", type=int, nargs="*", default=[5, 10, 25],
                        help="songs a class of the small-class coverage table (60 draws each)")
    parser.add_argument("--songs", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--lines", type=int, default=16)
    parser.add_argument("--cost-replicates", type=int, default=1000)
    args = parser.parse_args()
    if args.repeats:
        print("| correction | draws | songs | replications | coverage (mean) | coverage (lowest figure) | "
              "figures covered >= 85% | I_LIME coverage | I_HOM coverage | difference coverage | "
              "draws with a wrong holds | wrong share of holds | sign errors | power |")
        print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for correction in ("holm", "fdr"):
            start = time.perf_counter()
            r = check_repeats(args.repeats, 100, args.replicates, correction=correction)
            print(f"| {correction} | {r['repeats']} | {r['songs']} | {r['replicates']} | {r['coverage']:.3f} | "
                  f"{r['coverage_min']:.2f} | {r['share_of_figures_covered']:.0%} | {r['coverage_I_LIME']:.3f} | "
                  f"{r['coverage_I_HOM']:.3f} | {r['coverage_differences']:.3f} | {r['family_wise_error']:.2f} | "
                  f"{r['false_discovery_share']:.3f} | {r['wrong_sign']} | {r['power']:.2f} |  ({time.perf_counter() - start:.0f} s)")
    if args.class_sizes:
        print("\n| songs a class | coverage (mean) | lowest figure | figures covered >= 85% | I_LIME coverage | "
              "difference coverage | draws with a wrong holds |")
        print("|---:|---:|---:|---:|---:|---:|---:|")
        for size in args.class_sizes:
            r = check_repeats(60, size, args.replicates)
            print(f"| {size} | {r['coverage']:.3f} | {r['coverage_min']:.2f} | {r['share_of_figures_covered']:.0%} | "
                  f"{r['coverage_I_LIME']:.3f} | {r['coverage_differences']:.3f} | {r['family_wise_error']:.2f} |")
    if args.songs:
        print("\n| songs | keys | replications | intervals (s) | findings (s) | rows |")
        print("|---:|---:|---:|---:|---:|---:|")
        for n in args.songs:
            r = cost(n, args.lines, args.cost_replicates)
            print(f"| {r['songs']} | {r['keys']} | {r['replicates']} | {r['intervals_s']:.1f} | "
                  f"{r['findings_s']:.1f} | {r['rows']} |")


if __name__ == "__main__":
    main()
