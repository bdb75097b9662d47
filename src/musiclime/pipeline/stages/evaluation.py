"""Stage ``evaluate``: trust metrics of one explanation (stability, faithfulness, randomization sanity,
and the ground-truth check where the song has ground truth).

A heavy stage (faithfulness calls the model), so it runs as a job of its own; the comparison
explanations (other mask seeds, the randomized model) are ordinary workflow artifacts.
"""

from __future__ import annotations

import logging
import math
import os
import time
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from ...common.artifacts import write_config
from ...common.atomic_io import write_json
from ...common.ground_truth_file import ground_truth_path, read_ground_truth
from ...evidence.ground_truth import check_metrics, ground_truth_check
from ...evidence.listenable import check_same_components
from ...evidence.trust import faithfulness, randomization_by_modality, stability, verdicts
from ...evidence.trust.claim_stability import claim_stability
from ...evidence.trust.second_opinion import second_opinion_trust
from ...evidence.trust.support import second_opinion_support
from ...factorization.lyrics import make_text_factorization
from ...method.explanation import load_explanation
from ...method.explanation_views import explained_label, weight_vector
from ...method.modality import FeatureLayout
from . import PathLike
from .prediction import cached_predict_fn
from .separation import load_factorization

log = logging.getLogger(__name__)


def evaluate(explanation_json: str | Path, stems_npz: str | Path, seed_explanations: list[str],
             randomized_explanations: Mapping[str, str], model_slice: dict, evaluation: dict, out_json: str | Path,
             out_config: str | Path, ground_truth: str | None = None) -> Path:
    """Write ``evaluation.json`` (and its resolved config) for one explanation; ``ground_truth``: the song's
    ground-truth file as the plan found it (:meth:`musiclime.pipeline.plan.WorkflowPlan.ground_truth`)."""
    evaluate_song(explanation_json, stems_npz, model_slice, evaluation, out_json,
                  seed_explanations=list(seed_explanations), randomized_explanations=randomized_explanations,
                  ground_truth=ground_truth)
    write_config(out_config, {"explanation": str(explanation_json), "model": model_slice, "evaluation": evaluation,
                              **({"ground_truth": str(ground_truth)} if ground_truth else {})})
    return Path(out_json)


#: Runs in a warm model worker (faithfulness calls the model; the worker keeps it for the next job).
evaluate.worker_pool = "models"


NO_RANDOMIZED_FACTORY = ("randomization check skipped: the model config names no randomized_predict_fn "
                         "(a factory building the same architecture with re-initialised weights)")
NO_CASCADE = ("cascading randomization skipped: the model config names no randomized_predict_fn or no "
              "randomization_cascade steps")
NO_SHUFFLED_FACTORY = ("data randomization skipped: the model config names no shuffled_labels_predict_fn "
                       "(a factory of the same architecture trained on shuffled labels)")


def randomization_metric(variant: str, part: str) -> str:
    """Metric name of one randomization variant (``model``, ``cascade_<layers>``, ``data``) and part
    (:data:`musiclime.evidence.trust.randomization.PARTS`): ``randomization_spearman_audio``,
    ``cascade_fusion_head_spearman``, ``data_randomization_spearman_lyrics``, ..."""
    prefix = {"model": "randomization", "data": "data_randomization"}.get(variant, variant)
    return f"{prefix}_spearman" + ("" if part == "overall" else f"_{part}")


def evaluate_song(explanation_json: PathLike, stems_npz: PathLike, model_slice: Mapping, evaluation: Mapping,
                  out_json: PathLike, seed_explanations: Sequence[PathLike] = (),
                  randomized_explanations: Mapping[str, PathLike] | None = None,
                  ground_truth: PathLike | None = None) -> Path:
    """Trust metrics of one explanation, written to ``evaluation.json``.

    Args:
        explanation_json: the explanation to evaluate.
        stems_npz: the song's separation artifact (faithfulness composes perturbed audio from it).
        model_slice: the model config slice (``predict_fn`` factory, ``batch_size``).
        evaluation: the ``evaluation`` config slice (``stability``, ``faithfulness``, ``randomization``
            switches; ``faithfulness_steps``, ``faithfulness_random_draws``, ``faithfulness_seed``).
        seed_explanations: explanations of the same song with other mask seeds (stability; the
            evaluated one is included automatically).
        randomized_explanations: ``{variant: explanation or [explanation per mask seed]}`` of the same
            song under the models that learned nothing (``model``: re-initialised; ``cascade_<layers>``:
            re-initialised from the top down to ``layers``; ``data``: trained on shuffled labels). The
            ``i``-th is compared with the trained model's explanation of the same mask seed (the
            evaluated one, then ``seed_explanations`` in seed order) and each metric is the mean over
            the seeds (``randomization_per_seed`` in the output keeps every value).
        ground_truth: the song's ground-truth file; ``None``: ``ground_truth.json`` beside the song's
            audio when there is one (``evaluation.ground_truth=false`` skips the check).

    Output JSON: ``{"song_id", "label", "metrics": {jaccard_top5, jaccard_top10, kendall_tau, claims_sets_nested,
    claims_leaders_agree, claims_shares_agree, claims_pairs,
    deletion_aopc, random_deletion_aopc, insertion_aopc, random_insertion_aopc,
    randomization_spearman[_audio|_lyrics|_within_modality], cascade_<layers>_spearman[...],
    data_randomization_spearman[...], ground_truth_<audio|lyrics>_<auc|recall>,
    ground_truth_audio_leaders_in_truth}, "verdicts": [{check, passed, label, evidence}, ...] (see
    :mod:`musiclime.evidence.trust.verdicts`); the same metrics prefixed ``shap_`` / ``lime_`` for the
    second-opinion surrogate (:mod:`musiclime.evidence.trust.second_opinion`) when the masks support
    it, "ground_truth" (:func:`musiclime.evidence.ground_truth.ground_truth_check`, every explained label;
    only for a song with ground truth), "second_opinion" (:class:`~musiclime.evidence.trust.support.SecondOpinionSupport`: ``shown``
    and, when not, ``reason``), "curves", "notes", "timings_s", "model_items", "evaluation"}``.
    """

    explanation = load_explanation(explanation_json)
    label = explained_label(explanation)
    song_id = explanation.metadata.get("song_info", {}).get("song_id")
    metrics: dict[str, float] = {}
    notes: list[str] = []
    timings: dict[str, float] = {}
    result: dict = {"song_id": song_id, "label": label, "label_name": explanation.label_name(label)}
    others = [p for p in seed_explanations if Path(p).resolve() != Path(explanation_json).resolve()]
    faithfulness_inputs = None
    if evaluation.get("stability", True):
        if others:
            seeds = others[:max(1, int(evaluation.get("stability_seeds", len(others) + 1)) - 1)]
            seeded = [explanation] + [load_explanation(p) for p in seeds]
            metrics.update(stability(seeded, label))
            metrics.update(claim_stability(seeded, label))
        else:
            notes.append("stability skipped: no explanations with other mask seeds were given")
    if evaluation.get("faithfulness", True):
        start = time.perf_counter()
        fact, text, layout = _song_inputs(explanation, stems_npz)
        faithfulness_inputs = (fact, text, layout, cached_predict_fn(dict(model_slice)))
        faith = faithfulness(*faithfulness_inputs, weight_vector(explanation, label),
                             label, steps=int(evaluation.get("faithfulness_steps", 10)),
                             draws=int(evaluation.get("faithfulness_random_draws", 5)),
                             seed=int(evaluation.get("faithfulness_seed", 0)),
                             batch_size=int(model_slice.get("batch_size", 32)))
        metrics.update(faith.metrics)
        result["curves"] = faith.curves()
        result["model_items"] = faith.model_items
        timings["faithfulness"] = time.perf_counter() - start
    randomized_explanations = {variant: [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
                               for variant, paths in (randomized_explanations or {}).items()}
    trained_by_seed = [explanation] + [load_explanation(p) for p in others]
    per_seed: dict[str, list[float]] = {}
    for variant, paths in randomized_explanations.items():
        for trained, path in zip(trained_by_seed, paths):
            for part, rho in randomization_by_modality(trained, load_explanation(path), label).items():
                per_seed.setdefault(randomization_metric(variant, part), []).append(rho)
    metrics.update({name: _mean_of_finite(values) for name, values in per_seed.items()})
    if any(len(values) > 1 for values in per_seed.values()):
        result["randomization_per_seed"] = per_seed
    for key, present, note in (
            ("randomization", "model" in randomized_explanations, NO_RANDOMIZED_FACTORY),
            ("randomization_cascade", any(v.startswith("cascade_") for v in randomized_explanations), NO_CASCADE),
            ("data_randomization", "data" in randomized_explanations, NO_SHUFFLED_FACTORY)):
        if evaluation.get(key, key == "randomization") and not present:
            notes.append(note)
    # the second-opinion surrogate's weights (metadata["alternative_surrogate"]): the same metrics, prefixed,
    # only when the masks support it (evidence.trust.support: Kernel SHAP needs 2 effective rows per feature)
    support = second_opinion_support(explanation.metadata, len(explanation.features))
    result["second_opinion"] = support.as_dict()
    if support.shown:
        second = second_opinion_trust(explanation, label, evaluation, seed_explanations=others,
                                      randomized_explanation=(randomized_explanations.get("model") or [None])[0],
                                      faithfulness_inputs=faithfulness_inputs,
                                      batch_size=int(model_slice.get("batch_size", 32)))
        metrics.update(second.metrics)
        notes.extend(second.notes)
        if second.curves:
            result["curves"]["second_opinion"] = second.curves
            result["model_items"] += second.model_items
    elif support.method == "kernel_shap" and support.effective_rows is not None:
        notes.append(support.reason)
    if evaluation.get("ground_truth", True):
        start = time.perf_counter()
        path = ground_truth_path(ground_truth, explanation.metadata.get("song_info", {}).get("audio"))
        if path is not None:
            check = ground_truth_check(explanation, read_ground_truth(path))
            result["ground_truth"] = check
            metrics.update(check_metrics(check, label))
            notes.extend(f"ground truth: {note}" for note in check["notes"])
            timings["ground_truth"] = time.perf_counter() - start
    result.update(metrics=metrics, verdicts=[v.as_dict() for v in verdicts(metrics)], notes=notes,
                  timings_s=timings, evaluation=dict(evaluation))
    for note in notes:
        log.info("%s: %s", song_id, note)
    return write_json(out_json, _finite_or_none(result))


def _song_inputs(explanation, stems_npz: PathLike):
    """The factorization, lyrics factorization and feature layout the explanation was made with."""

    meta = explanation.metadata
    fact, _ = load_factorization(stems_npz, int(meta["factorization"]["temporal_segments"]))
    check_same_components(explanation, fact, f"song {meta.get('song_info', {}).get('song_id')!r}")
    lyrics_path = meta.get("song_info", {}).get("lyrics")
    lyrics = Path(lyrics_path).read_text(encoding="utf-8") if lyrics_path else ""
    text = make_text_factorization(lyrics, meta.get("lyrics_unit", "line"))
    layout = FeatureLayout(explanation.modality, fact.get_number_components(), text.num_words())
    if layout.num_features != len(explanation.features):
        raise ValueError(f"song {meta.get('song_info', {}).get('song_id')!r}: the lyrics file {lyrics_path} gives "
                         f"{layout.num_features} features, the explanation has {len(explanation.features)}")
    return fact, text, layout


def _mean_of_finite(values: Sequence[float]) -> float:
    """Mean of the finite values (a rank correlation is NaN when a modality's weights are constant);
    NaN when none is."""
    finite = [float(v) for v in values if v is not None and np.isfinite(v)]
    return float(np.mean(finite)) if finite else float("nan")


def _finite_or_none(value):
    """JSON-safe copy: NaN/inf floats become ``None``."""

    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite_or_none(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
