"""Right about the audio: samplers and budgets scored against the demo songs' ground truth, per encoder item.

On the demo songs that carry ground truth (the sample sheet's ``ground_truth`` column, or
``ground_truth.json`` beside the audio: :mod:`musiclime.common.ground_truth_file`) with the trained
demo model (late fusion: each distinct audio and lyrics input is encoded once), for each sampler and
sample count: explain with ``--seeds`` mask seeds, fit the full fit (the ranking the song page shows)
and score each modality's ranking against the truth as the evaluation's ground-truth check does
(:mod:`musiclime.evidence.ground_truth`: rank AUC, recall of the truth in the top k). A row is the
mean over songs and seeds, beside the mean encoder items (audio + lyrics inputs encoded), so samplers
are compared at equal encoder items.

    PYTHONPATH=src python benchmarks/bench_ground_truth.py --workdir DIR [--counts 150 300 600] [--seeds 3]

``DIR`` holds a demo run's ``resources/`` (``snakemake --cores 2`` makes them). ``--assume-truth
vocals,drums`` scores songs without a ground-truth file against made-up truth (every component of
those stems of the ``human`` songs): a way to exercise the script on a demo that writes no truth, not
a measurement. Prints a Markdown table; writes ``ground_truth.tsv`` in ``--out``.
"""

from __future__ import annotations

import argparse
import csv
import logging
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from musiclime import StemFactorization
from musiclime.common.ground_truth_file import GroundTruth, ground_truth_path, read_ground_truth
from musiclime.common.sample_sheet import read_sample_sheet
from musiclime.evidence.ground_truth import audio_truth_columns, lyric_truth_columns, rank_auc, recall_at_k
from musiclime.factorization.lyrics import make_text_factorization
from musiclime.method.estimation.full_fit import fit_every_feature
from musiclime.method.scoring.inference import predict_masks
from musiclime.method.modality import FeatureLayout
from musiclime.method.estimation.sampling import sample_masks
from musiclime.models.demo_classifier import load_demo_predict_fn

log = logging.getLogger("benchmarks.ground_truth")

SAMPLERS = ("random", "paired", "factorial", "factorial_paired")
COUNTS = (150, 300, 600)
QUICK = {"samplers": ("random", "factorial_paired"), "counts": (60,), "seeds": 1, "songs": 2}
COLUMNS = ("sampler", "num_samples", "encoder_items", "audio_auc", "audio_recall", "lyrics_auc", "lyrics_recall",
           "songs", "seconds")


def song_truth(song, assume: tuple[str, ...], segments: int) -> GroundTruth | None:
    """The song's ground truth from disk, else (``assume``: stems) every component of those stems of a
    human song, else ``None``."""
    path = ground_truth_path(song.ground_truth, song.audio)
    if path is not None:
        return read_ground_truth(path)
    if assume and song.song_id.endswith("human"):
        return GroundTruth(path=Path("assumed"), label=1, style="human", audio_cues=(), temporal_segments=segments,
                           components=tuple(f"{stem}_T{k}" for k in range(segments) for stem in assume),
                           lyric_lines=())
    return None


def explanation_shape(fact: StemFactorization, text, segments: int, lyrics_unit: str) -> SimpleNamespace:
    """What the ground-truth mapping reads of an explanation (``features``, ``metadata``), without fitting one."""
    audio = [{"type": "audio", "feature": name, "index": i} for i, name in enumerate(fact.get_ordered_component_names())]
    lyrics = [{"type": "lyrics", "feature": text.word(i), "index": i, **text.feature_details(i)}
              for i in range(text.num_words())]
    metadata = {"factorization": {"temporal_segments": segments},
                "segment_boundaries_s": fact.segment_boundaries_seconds(), "lyrics_unit": lyrics_unit}
    return SimpleNamespace(features=audio + lyrics, metadata=metadata)


def modality_scores(weights: np.ndarray, columns: list[int], truth: set[int]) -> tuple[float | None, float | None]:
    """Rank AUC and top-k recall of ``truth`` among ``columns`` by ``|weights|`` (ties by column)."""
    if not truth:
        return None, None
    order = sorted(columns, key=lambda c: (-abs(weights[c]), c))
    return rank_auc(weights[columns], np.isin(columns, sorted(truth))), recall_at_k(order, truth)


def run(workdir: Path, samplers=SAMPLERS, counts=COUNTS, seeds: int = 3, segments: int = 10,
        lyrics_unit: str = "distinct_line", assume: tuple[str, ...] = (), max_songs: int | None = None) -> list[dict]:
    """One row per (sampler, count): the means over the songs with truth and the mask seeds."""
    model = load_demo_predict_fn(str(workdir / "resources/models/demo"), batch_size=16)
    songs = [(s, t) for s in read_sample_sheet(workdir / "resources/demo/samples.tsv")
             if (t := song_truth(s, assume, segments)) is not None][:max_songs]
    if not songs:
        raise SystemExit(f"no song of {workdir}/resources/demo/samples.tsv has ground truth "
                         "(ground_truth.json beside its audio); --assume-truth vocals,drums makes some up")
    prepared = []
    for song, truth in songs:
        fact = StemFactorization(song.stems, sample_rate=22050, temporal_segments=segments)
        text = make_text_factorization(Path(song.lyrics).read_text(encoding="utf-8"), lyrics_unit)
        shape = explanation_shape(fact, text, segments, lyrics_unit)
        audio_truth, _, notes = audio_truth_columns(shape, truth)
        lyric_truth, lyric_notes = lyric_truth_columns(shape, truth)
        for note in notes + lyric_notes:
            log.warning("%s: %s", song.song_id, note)
        layout = FeatureLayout("both", fact.get_number_components(), text.num_words())
        label = int(np.argmax(model([text.inverse_removing([])], fact.mix[None])[0]))
        prepared.append((song, fact, text, layout, label, audio_truth, lyric_truth))
    rows = []
    for sampler in samplers:
        for num_samples in counts:
            cells: dict[str, list[float]] = {key: [] for key in COLUMNS[2:-2]}
            start = time.perf_counter()
            for song, fact, text, layout, label, audio_truth, lyric_truth in prepared:
                for seed in range(seeds):
                    masks = sample_masks(num_samples, layout.num_features, seed, sampler,
                                         audio_columns=layout.audio_columns)
                    result = predict_masks(fact, text, masks, layout, model, batch_size=16, progress=False)
                    weights = fit_every_feature(masks, result.predictions, [label], layout)[label].coef
                    cells["encoder_items"].append(result.audio_encodings + result.lyric_encodings)
                    audio = list(range(layout.n_audio))
                    lyrics = list(range(layout.n_audio, layout.num_features))
                    for modality, columns, truth in (("audio", audio, audio_truth), ("lyrics", lyrics, lyric_truth)):
                        auc, recall = modality_scores(weights, columns, truth)
                        if auc is not None:
                            cells[f"{modality}_auc"].append(auc)
                        if recall is not None:
                            cells[f"{modality}_recall"].append(recall)
            rows.append({"sampler": sampler, "num_samples": num_samples,
                         **{key: float(np.mean(values)) if values else None for key, values in cells.items()},
                         "songs": len(prepared), "seconds": time.perf_counter() - start})
            log.info("%s %d: %.0f encoder items, audio AUC %s, recall %s", sampler, num_samples,
                     rows[-1]["encoder_items"], rows[-1]["audio_auc"], rows[-1]["audio_recall"])
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows as a Markdown table (``-`` where a modality had no truth)."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|---|" + "---:|" * (len(COLUMNS) - 1)]
    for row in rows:
        cells = [f"{row[c]:.3f}" if isinstance(row[c], float) and c != "encoder_items" else
                 f"{row[c]:.0f}" if c == "encoder_items" and row[c] is not None else
                 "-" if row[c] is None else str(row[c]) for c in COLUMNS]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def write_rows(rows: list[dict], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    with open(out / "ground_truth.tsv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(COLUMNS), delimiter="\t")
        writer.writeheader()
        writer.writerows(rows)
    return out / "ground_truth.tsv"


def harness_run(quick: bool) -> dict:
    """Harness section ``ground_truth``: needs ``MUSICLIME_DEMO_WORKDIR`` (a demo run's folder;
    ``MUSICLIME_ASSUME_TRUTH=vocals,drums`` as ``--assume-truth``); ``quick`` runs 2 samplers at 60
    samples, one seed, two songs. Skipped with a line when no song has ground truth."""
    import os

    workdir = os.environ.get("MUSICLIME_DEMO_WORKDIR")
    if not workdir:
        return {"skipped": "set MUSICLIME_DEMO_WORKDIR to a demo run's folder (its resources/)", "rows": []}
    settings = QUICK if quick else {"samplers": SAMPLERS, "counts": COUNTS, "seeds": 3, "songs": None}
    assume = tuple(s for s in os.environ.get("MUSICLIME_ASSUME_TRUTH", "").split(",") if s)
    try:
        rows = run(Path(workdir), settings["samplers"], settings["counts"], seeds=settings["seeds"], assume=assume,
                   max_songs=settings["songs"])
    except SystemExit as exc:  # no song with ground truth
        return {"skipped": str(exc), "rows": []}
    out = []
    for row in rows:
        for metric in ("audio_auc", "audio_recall"):
            if row[metric] is not None:
                out.append({"section": "ground truth", "name": f"{row['sampler']} {row['num_samples']}: {metric}",
                            "value": row[metric], "unit": "", "note": f"{row['encoder_items']:.0f} encoder items, "
                                                                      f"{row['songs']} songs"})
    return {"rows": out}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="a demo run's folder (its resources/)")
    parser.add_argument("--samplers", nargs="+", default=list(SAMPLERS))
    parser.add_argument("--counts", nargs="+", type=int, default=list(COUNTS), help="explain.num_samples budgets")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--segments", type=int, default=10, help="explain.temporal_segments")
    parser.add_argument("--lyrics-unit", default="distinct_line")
    parser.add_argument("--songs", type=int, default=None, help="at most this many songs with truth")
    parser.add_argument("--assume-truth", default="", metavar="STEMS",
                        help="songs without a truth file: the human songs' components of these stems (e.g. "
                             "vocals,drums) count as truth; exercises the script, measures nothing")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    logging.getLogger("musiclime").setLevel(logging.WARNING)
    assume = tuple(s for s in args.assume_truth.split(",") if s)
    rows = run(args.workdir, args.samplers, args.counts, args.seeds, args.segments, args.lyrics_unit, assume,
               args.songs)
    sys.stdout.write(format_table(rows) + "\n")
    log.info("wrote %s", write_rows(rows, args.out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
