"""Why does the randomization check pass or fail? Each candidate cause, measured on the demo songs.

For each demo song, one set of ``random`` masks (the demo's: ``--samples``, ``--seed``) is scored
by the trained demo model and by the models that learned nothing: the cascade (fusion head, then
also the embedding layers, then every weight re-initialised) and, with ``--shuffled``, the same
training on shuffled labels. Each is fitted with the default LIME fit (20 features). Per song and
variant the table gives the Spearman correlation of ``|weight|`` with the trained model's over every
feature, per modality and within modality, and the evidence for each candidate cause:

* scale split: the mean ``|weight|`` of lyric lines over that of audio components, for the trained
  and the randomized model (a ratio far from 1 ranks the two blocks apart in any model);
* ties: features that feature selection left at 0, in both explanations;
* loudness: Spearman of the audio components' ``|weight|`` with their RMS level;
* the model's confidence under the masks: mean and standard deviation of the explained class's
  probability over the masks; and the deletion-AOPC margin over random orders.

    PYTHONPATH=src python benchmarks/bench_randomization.py --workdir DIR [--weights DIR] [--shuffled DIR]

``DIR`` holds a demo run's ``resources/`` (``snakemake --cores 2`` makes them).
"""

from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

import numpy as np

from musiclime import LineIndexedString, StemFactorization
from musiclime.common.sample_sheet import read_sample_sheet
from musiclime.evidence.trust.faithfulness import faithfulness
from musiclime.evidence.trust.randomization import within_modality_spearman
from musiclime.method.scoring.inference import predict_masks
from musiclime.method.modality import FeatureLayout
from musiclime.method.estimation.sampling import sample_masks
from musiclime.method.estimation.surrogate import fit_surrogate
from musiclime.models.demo_classifier import CASCADE_STEPS, load_demo_predict_fn, load_randomized_demo_predict_fn

COLUMNS = ("song", "variant", "spearman_overall", "spearman_audio", "spearman_lyrics", "spearman_within_modality",
           "lyrics_to_audio_weight_trained", "lyrics_to_audio_weight_variant", "zero_in_both", "energy_rho_trained",
           "energy_rho_variant", "p_mean", "p_sd", "deletion_margin")


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    return float(spearmanr(a, b).statistic) if len(a) > 1 and np.ptp(a) and np.ptp(b) else float("nan")


def lime_weights(masks: np.ndarray, predictions: np.ndarray, label: int) -> np.ndarray:
    """The default LIME fit's weight per feature ``(num_features,)`` (0 where selection left it out)."""
    fit = fit_surrogate(masks, predictions, [label])[label]
    weights = np.zeros(masks.shape[1])
    for index, weight in fit.local_exp:
        weights[index] = weight
    return weights


def ratio(weights: np.ndarray, is_audio: np.ndarray) -> float:
    audio = np.abs(weights[is_audio]).mean()
    return float(np.abs(weights[~is_audio]).mean() / audio) if audio > 0 else float("inf")


def models(weights: Path, shuffled: Path | None) -> dict:
    variants = {"trained": load_demo_predict_fn(str(weights))}
    variants.update({f"randomized_{step}": load_randomized_demo_predict_fn(str(weights), seed=1, layers=step)
                     for step in CASCADE_STEPS})
    if shuffled is not None:
        variants["shuffled_labels"] = load_demo_predict_fn(str(shuffled))
    return variants


def run(workdir: Path, weights: Path, shuffled: Path | None, samples: int, seed: int, segments: int) -> list[dict]:
    predict_fns = models(weights, shuffled)
    rows = []
    for song in read_sample_sheet(workdir / "resources/demo/samples.tsv"):
        fact = StemFactorization(song.stems, sample_rate=22050, temporal_segments=segments)
        text = LineIndexedString(Path(song.lyrics).read_text(encoding="utf-8"))
        layout = FeatureLayout("both", fact.get_number_components(), text.num_words())
        is_audio = np.arange(layout.num_features) < layout.n_audio
        masks = sample_masks(samples, layout.num_features, seed, "random")
        energy = np.array([np.sqrt(np.mean(np.square(fact.compose_model_input([i])))) for i in range(layout.n_audio)])
        predictions = {name: predict_masks(fact, text, masks, layout, fn, batch_size=32, progress=False).predictions
                       for name, fn in predict_fns.items()}
        label = int(np.argmax(predictions["trained"][0]))
        weights = {name: lime_weights(masks, p, label) for name, p in predictions.items()}
        trained = weights["trained"]
        faith = faithfulness(fact, text, layout, predict_fns["trained"], trained, label, steps=10, draws=5)
        for name in weights:
            if name == "trained":
                continue
            a, b = np.abs(trained), np.abs(weights[name])
            rows.append({
                "song": song.song_id, "variant": name, "spearman_overall": spearman(a, b),
                "spearman_audio": spearman(a[is_audio], b[is_audio]),
                "spearman_lyrics": spearman(a[~is_audio], b[~is_audio]),
                "spearman_within_modality": within_modality_spearman(a, b, is_audio),
                "lyrics_to_audio_weight_trained": ratio(trained, is_audio),
                "lyrics_to_audio_weight_variant": ratio(weights[name], is_audio),
                "zero_in_both": int(np.sum((a == 0) & (b == 0))),
                "energy_rho_trained": spearman(energy, a[is_audio]),
                "energy_rho_variant": spearman(energy, b[is_audio]),
                "p_mean": float(predictions["trained"][:, label].mean()),
                "p_sd": float(predictions["trained"][:, label].std()),
                "deletion_margin": faith.metrics["deletion_aopc"] - faith.metrics["random_deletion_aopc"]})
            print(json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in rows[-1].items()}),
                  flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", type=Path, required=True, help="folder with a demo run's resources/")
    parser.add_argument("--weights", type=Path, help="trained demo model (default: <workdir>/resources/models/demo)")
    parser.add_argument("--shuffled", type=Path, help="the same training on shuffled labels (data randomization)")
    parser.add_argument("--samples", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--segments", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/out/randomization.tsv"))
    args = parser.parse_args()
    rows = run(args.workdir, args.weights or args.workdir / "resources/models/demo", args.shuffled, args.samples,
               args.seed, args.segments)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with open(args.out, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, delimiter="\t", lineterminator="\n")
        writer.writeheader()
        writer.writerows({k: f"{v:.4f}" if isinstance(v, float) else v for k, v in row.items()} for row in rows)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
