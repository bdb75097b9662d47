"""Certified ranks on the demo songs: how many top ranks are certain, and do seeds agree on them?

For each demo song and mask seed, explain with the library facade (as the workflow's fit records it)
and read ``metadata["certification"]`` and ``metadata["full_fit"]``:

* ``certified_top_k`` of the explanation's own ranking and within each modality (full fit);
* the certified sets' agreement across seeds: mean pairwise Jaccard over the seed pairs where both
  certified at least one rank, and how often the smaller certified set lies inside the larger
  (``nested``: what correct certifications of different depth must satisfy);
* with the stopping rule on: whether it stopped ``certified`` (``stable``), the rows and encoder items
  used, and the top-5 Jaccard across seeds of the explanation and of the full fit's audio ranking.

    PYTHONPATH=src python benchmarks/bench_certification.py --workdir DIR [--mode defaults|stopping] [--seeds 5]

``DIR`` holds a demo run's ``resources/`` (``snakemake --cores 2`` makes them). ``--mode defaults``
uses the demo's explain defaults (``random``, 300 samples, ``distinct_line``); ``--mode stopping``
uses ``factorial_paired`` with the stopping rule and a budget of ``--budget`` rows (490,000: 700 masks
per modality, 1,400 encoder items; ``--grid-allocation by_features`` splits them by need);
``--mode budget`` scores the whole budget without the rule (the full fit's audio ranking at 1,400
encoder items). Writes
``certification-<mode>[-<allocation>].tsv`` (one row per song and seed) and ``...-summary.tsv`` (one
row per song) to ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import itertools
import logging
import time
from pathlib import Path

import numpy as np

from musiclime import MusicLIMEExplainer, StemFactorization
from musiclime.common.sample_sheet import read_sample_sheet
from musiclime.factorization.lyrics import make_text_factorization
from musiclime.method.explanation_views import certification_of, full_fit_weights
from musiclime.method.estimation.stopping import StoppingRule
from musiclime.models.demo_classifier import load_demo_predict_fn

log = logging.getLogger("bench_certification")

RANKINGS = ("own", "audio", "lyrics")
TOP_K = 5


def explain(workdir: Path, song, seed: int, mode: str, budget: int, lyrics_unit: str, allocation: str = "equal"):
    """One explanation of ``song`` with mask seed ``seed`` under ``mode``'s settings."""
    model = load_demo_predict_fn(str(workdir / "resources/models/demo"), batch_size=16)
    fact = StemFactorization(song.stems, sample_rate=22050, temporal_segments=10)
    text = make_text_factorization(Path(song.lyrics).read_text(), lyrics_unit)
    if mode == "defaults":
        explainer = MusicLIMEExplainer(random_state=seed, progress=False, sampler="random")
        samples = 300
    else:
        rule = StoppingRule(top_k=TOP_K) if mode == "stopping" else None
        explainer = MusicLIMEExplainer(random_state=seed, progress=False, sampler="factorial_paired",
                                       stopping=rule, grid_allocation=allocation)
        samples = budget
    return explainer.explain_instance_with_factorization(fact, text, model, num_samples=samples, labels=None,
                                                         modality="both", song_info={"song_id": song.song_id})


def certified_set(entry: dict) -> frozenset:
    return frozenset(entry["ranking"][:entry["certified_top_k"]])


def record(explanation, seed: int) -> dict:
    """What one explanation says about its certified ranks (and its top sets)."""
    label = explanation.predicted_label
    entry = certification_of(explanation, label)
    parts = {"own": entry, "audio": entry.get("audio"), "lyrics": entry.get("lyrics")}
    full = full_fit_weights(explanation, label)
    audio = [i for i, f in enumerate(explanation.features) if f["type"] == "audio"]
    audio_top = frozenset(int(audio[i]) for i in np.argsort(-np.abs(full[audio]), kind="stable")[:TOP_K])
    meta = explanation.metadata
    stopping = meta.get("stopping") or {}
    row = {"song": meta["song_info"]["song_id"], "seed": seed, "label": label,
           "samples_used": meta.get("samples_used"),
           "encoder_items": meta.get("audio_encodings", 0) + meta.get("lyric_encodings", 0),
           "stopped": stopping.get("stopped", ""), "rounds": len(stopping.get("rounds", [])),
           "seconds": round(meta["timings_s"]["total"], 1)}
    for name, part in parts.items():
        row[f"certified_top_k_{name}"] = part["certified_top_k"]
        row[f"certified_{name}"] = sorted(certified_set(part))
        row[f"tied_{name}"] = part["tied_at_boundary"]
    row["top5_own"] = sorted(int(i) for i, _ in explanation.local_exp[label][:TOP_K])
    row["top5_audio_full"] = sorted(audio_top)
    return row


def jaccard(a: frozenset, b: frozenset) -> float:
    return len(a & b) / len(a | b) if a | b else 1.0


def summarize(rows: list[dict]) -> list[dict]:
    """Per song: certified counts over seeds, agreement of the certified sets, top-5 Jaccards."""
    out = []
    for song in dict.fromkeys(r["song"] for r in rows):
        mine = [r for r in rows if r["song"] == song]
        summary = {"song": song, "seeds": len(mine),
                   "encoder_items": float(np.mean([r["encoder_items"] for r in mine])),
                   "samples_used": float(np.mean([r["samples_used"] for r in mine])),
                   "stopped_certified": sum(r["stopped"] == "stable" for r in mine)}
        for name in RANKINGS:
            sets = [frozenset(r[f"certified_{name}"]) for r in mine]
            pairs = [(a, b) for a, b in itertools.combinations(sets, 2) if a and b]
            summary[f"k_{name}"] = " ".join(str(r[f"certified_top_k_{name}"]) for r in mine)
            summary[f"jaccard_certified_{name}"] = round(float(np.mean([jaccard(a, b) for a, b in pairs])), 3) \
                if pairs else ""
            summary[f"nested_certified_{name}"] = round(float(np.mean([a <= b or b <= a for a, b in pairs])), 3) \
                if pairs else ""
        for key in ("top5_own", "top5_audio_full"):
            sets = [frozenset(r[key]) for r in mine]
            summary[f"jaccard_{key}"] = round(float(np.mean([jaccard(a, b) for a, b in
                                                             itertools.combinations(sets, 2)])), 3)
        out.append(summary)
    return out


def write(rows: list[dict], path: Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    log.info("wrote %s", path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a demo run's folder (with resources/)")
    parser.add_argument("--mode", choices=("defaults", "stopping", "budget"), default="defaults")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--budget", type=int, default=490_000, help="rows (stopping mode)")
    parser.add_argument("--songs", nargs="*", help="song ids (default: every demo song)")
    parser.add_argument("--lyrics-unit", default="distinct_line")
    parser.add_argument("--grid-allocation", default="equal", help="explain.grid_allocation (stopping mode)")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    for noisy in ("musiclime",):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args.out.mkdir(parents=True, exist_ok=True)
    songs = [s for s in read_sample_sheet(args.workdir / "resources/demo/samples.tsv")
             if not args.songs or s.song_id in args.songs]
    name = args.mode if args.grid_allocation == "equal" else f"{args.mode}-{args.grid_allocation}"
    rows = []
    for song in songs:
        for seed in range(args.seeds):
            start = time.perf_counter()
            explanation = explain(args.workdir, song, seed, args.mode, args.budget, args.lyrics_unit,
                                  args.grid_allocation)
            rows.append(record(explanation, seed))
            log.info("%s seed %d: %s (%.0f s)", song.song_id, seed,
                     {k: v for k, v in rows[-1].items() if k.startswith(("certified_top_k", "stopped", "samples"))},
                     time.perf_counter() - start)
            write(rows, args.out / f"certification-{name}.tsv")
    summary = summarize(rows)
    write(summary, args.out / f"certification-{name}-summary.tsv")
    for row in summary:
        log.info("%s", row)


if __name__ == "__main__":
    main()
