"""Stability per encoder item: top-5 Jaccard across mask seeds against the inputs a late-fusion model encodes.

On the demo songs with the trained demo model (a late-fusion model: each distinct audio and lyrics
input is encoded once), for each sampler and sample count: explain with ``seeds`` mask seeds, count
the encoder items (audio + lyrics inputs encoded, the mean over seeds), and the mean pairwise top-5
Jaccard of the explained label's features, and the mean deletion AOPC of the seeds' explanations
(faithfulness at that stability). Writes a table (TSV) and a PNG with one line per sampler.

    PYTHONPATH=src python benchmarks/bench_samplers.py --workdir DIR [--quick]

``DIR`` holds a demo run's ``resources/`` (``snakemake --cores 2`` makes them). A sampler named
``<sampler>+stop`` scores its masks in rounds under the default stopping rule, its count being the
budget; its row says how many seeds the rule called stable (``stable_seeds``) and the rows used.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import time
from pathlib import Path

import numpy as np

from musiclime import StemFactorization
from musiclime.factorization.lyrics import make_text_factorization
from musiclime.common.sample_sheet import read_sample_sheet
from musiclime.evidence.trust.faithfulness import faithfulness
from musiclime.method.modality import FeatureLayout
from musiclime.method.scoring.rounds import score_masks
from musiclime.method.estimation.sampling import sample_masks
from musiclime.method.estimation.stopping import StoppingRule
from musiclime.method.estimation.surrogate import fit_surrogate
from musiclime.models.demo_classifier import load_demo_predict_fn

SAMPLE_COUNTS = {
    "random": (300, 1000, 3000),
    "paired": (300, 1000, 3000),
    "factorial": (1000, 5000, 22500, 90000),
    "factorial_paired": (1000, 5000, 22500, 90000),
    "paired+stop": (3000,),
    "factorial_paired+stop": (90000,),
}
QUICK_COUNTS = {"random": (300,), "paired": (300,), "factorial": (1000,), "factorial_paired": (1000,)}
TOP_K = 5
#: A sampler name with this suffix scores its masks in rounds under :data:`RULE` (the count is the budget).
STOP_SUFFIX = "+stop"
#: Encoder items of ``random`` at 3,000 samples (the issue's reference) and the plot's x ticks.
REFERENCE_ITEMS = 6000
ITEM_TICKS = (300, 600, 1500, 3000, 6000)
RULE = StoppingRule()


def surrogate_weights(masks: np.ndarray, predictions: np.ndarray, label: int) -> np.ndarray:
    """The default fit's weight of every feature for ``label`` (0 for features it left out); ``(F,)``."""
    fit = fit_surrogate(masks, predictions, [label], kernel_width=25.0, distance_scale=1.0,
                        feature_selection="auto", num_features=20)[label]
    weights = np.zeros(masks.shape[1])
    for index, weight in fit.local_exp:
        weights[index] = weight
    return weights


def top_features(weights: np.ndarray, k: int = TOP_K) -> frozenset:
    """Indices of the ``k`` largest absolute weights."""
    return frozenset(int(i) for i in np.argsort(-np.abs(weights), kind="stable")[:k])


def mean_jaccard(sets: list[frozenset]) -> float:
    return float(np.mean([len(a & b) / len(a | b) for a, b in itertools.combinations(sets, 2)]))


def song_inputs(workdir: Path, song, segments: int, lyrics_unit: str = "distinct_line"):
    fact = StemFactorization(song.stems, sample_rate=22050, temporal_segments=segments)
    return fact, make_text_factorization(Path(song.lyrics).read_text(), lyrics_unit)


def run(workdir: Path, seeds: int, counts: dict, segments: int = 10, only: list[str] | None = None,
        top_k: int = TOP_K, lyrics_unit: str = "distinct_line") -> list[dict]:
    """One row per (song, sampler, count): stability of the top ``top_k`` (and the stopping rule's ``top_k``)."""
    rule = StoppingRule(top_k=top_k)
    model = load_demo_predict_fn(str(workdir / "resources/models/demo"), batch_size=16)
    songs = [s for s in read_sample_sheet(workdir / "resources/demo/samples.tsv") if not only or s.song_id in only]
    rows = []
    for song in songs:
        fact, text = song_inputs(workdir, song, segments, lyrics_unit)
        layout = FeatureLayout("both", fact.get_number_components(), text.num_words())
        label = int(np.argmax(model([text.inverse_removing([])], fact.mix[None])[0]))
        for sampler, sample_counts in counts.items():
            for num_samples in sample_counts:
                tops, items, seconds, aopcs, stable, used = [], [], [], [], [], []
                name, stops = sampler.removesuffix(STOP_SUFFIX), sampler.endswith(STOP_SUFFIX)
                for seed in range(seeds):
                    masks = sample_masks(num_samples, layout.num_features, seed, name,
                                         audio_columns=layout.audio_columns)
                    result, record = score_masks(fact, text, masks, layout, model, rule if stops else None, label,
                                                 name == "paired", batch_size=16, progress=False)
                    masks = masks[:len(result.predictions)]
                    if record is not None:
                        stable.append(record.stopped == "stable")
                    used.append(len(masks))
                    start = time.perf_counter()
                    weights = surrogate_weights(masks, result.predictions, label)
                    tops.append(top_features(weights, top_k))
                    seconds.append(result.seconds + time.perf_counter() - start)
                    items.append(result.audio_encodings + result.lyric_encodings)
                    aopcs.append(faithfulness(fact, text, layout, model, weights, label, draws=1,
                                              batch_size=16).metrics["deletion_aopc"])
                rows.append({"song": song.song_id, "sampler": sampler, "num_samples": num_samples,
                             "encoder_items": float(np.mean(items)), f"jaccard_top{top_k}": mean_jaccard(tops),
                             "deletion_aopc": float(np.mean(aopcs)), "seconds": float(np.mean(seconds)),
                             "samples_used": float(np.mean(used)),
                             "stable_seeds": int(np.sum(stable)) if stops else ""})
                print("\t".join(str(v) if not isinstance(v, float) else f"{v:.3f}" for v in rows[-1].values()),
                      flush=True)
    return rows


def plot(rows: list[dict], out_png: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import matplotlib.ticker

    songs = sorted({r["song"] for r in rows})
    jaccard = next(key for key in rows[0] if key.startswith("jaccard_top"))
    fig, axes = plt.subplots(1, len(songs), figsize=(4 * len(songs), 3.6), sharey=True)
    for ax, song in zip(np.atleast_1d(axes), songs):
        for sampler in dict.fromkeys(r["sampler"] for r in rows):
            line = [r for r in rows if r["song"] == song and r["sampler"] == sampler]
            stops = sampler.endswith(STOP_SUFFIX)
            if line:
                ax.plot([r["encoder_items"] for r in line], [r[jaccard] for r in line],
                        marker="*" if stops else "o", markersize=12 if stops else 6, label=sampler)
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
        ax.set_xticks(ITEM_TICKS, [f"{t:,}" for t in ITEM_TICKS])
        ax.axvline(0.25 * REFERENCE_ITEMS, color="grey", linestyle=":", linewidth=1)  # 25% of random@3000
        ax.set_title(song)
        ax.set_xlabel("encoder items (audio + lyrics inputs encoded)")
        ax.grid(alpha=0.3)
    np.atleast_1d(axes)[0].set_ylabel(f"top-{jaccard.removeprefix('jaccard_top')} Jaccard across mask seeds")
    np.atleast_1d(axes)[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out_png, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, help="a demo run's folder (needed unless --merge)")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--top-k", type=int, default=TOP_K, help="features whose stability is measured (and "
                        "that the stopping rule checks)")
    parser.add_argument("--songs", nargs="*", help="song ids (default: every demo song)")
    parser.add_argument("--lyrics-unit", default="distinct_line", help="explain.lyrics_unit (default: the "
                        "default config's distinct_line; line = the original per-line features)")
    parser.add_argument("--counts", nargs="*", metavar="SAMPLER=N,N",
                        help="sample counts per sampler instead of the defaults, e.g. random=300,1000")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    parser.add_argument("--merge", nargs="+", type=Path, metavar="TSV",
                        help="only merge these tables (runs split over several calls) into one table and PNG")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    if args.merge:
        rows = [row for path in args.merge for row in read_rows(path)]
        write_rows(rows, args.out)
        return
    if args.workdir is None:
        parser.error("--workdir is required (unless --merge)")
    counts = QUICK_COUNTS if args.quick else SAMPLE_COUNTS
    if args.counts:
        counts = {name: tuple(int(n) for n in values.split(",")) for name, values in
                  (item.split("=", 1) for item in args.counts)}
    write_rows(run(args.workdir, args.seeds, counts, only=args.songs, top_k=args.top_k,
                   lyrics_unit=args.lyrics_unit), args.out)


def write_rows(rows: list[dict], out: Path) -> None:
    """``samplers.tsv`` and ``samplers.png`` in ``out``."""
    with open(out / "samplers.tsv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    plot(rows, out / "samplers.png")


def read_rows(path: Path) -> list[dict]:
    """Rows of a ``samplers.tsv`` (numbers as floats)."""
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t"))
    for row in rows:
        for key in row:
            if key not in ("song", "sampler") and row[key] not in (None, ""):
                row[key] = float(row[key])
    return rows


if __name__ == "__main__":
    main()
