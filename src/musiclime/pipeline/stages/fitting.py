"""Stage ``fit``: masks + predictions -> the explanation JSON (no audio, no model call).

The chosen surrogate (``explain.surrogate``: LIME or Kernel SHAP) gives the explanation; the other
one is fitted on the same predictions as a second opinion (``metadata["alternative_surrogate"]``,
:mod:`musiclime.method.estimation.second_opinion`), and a ridge on every feature is recorded beside both
(``metadata["full_fit"]``, :mod:`musiclime.method.estimation.full_fit`), with how many top ranks of each
ranking are certain (``metadata["certification"]``, :mod:`musiclime.method.estimation.certification`).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np

from ...common.artifacts import load_arrays, write_config
from ...common.provenance import describe_file, describe_files
from ...common.errors import MusicLimeError
from ...method.explanation import MusicLIMEExplanation, explanation_metadata
from ...method.estimation.certification import DEFAULT_ALPHA, DEFAULT_METHOD, certification_block
from ...method.estimation.stopping import claim_level
from ...method.estimation.coarse_attribution import CoalitionTable, attribution_blocks
from ...method.estimation.full_fit import fit_every_feature, full_fit_block, kernel_weights
from ...method.modality import FeatureLayout
from ...method.estimation.second_opinion import fit_surrogates

log = logging.getLogger(__name__)

#: Why Kernel SHAP cannot use predictions written before the all-off row was scored.
RERUN_PREDICT = ("{path} has no prediction_all_off (the model's prediction with every explained feature off, "
                 "which explain.surrogate=kernel_shap needs as v(0)): it was written by an older predict stage; "
                 "re-run predict, e.g. `snakemake --forcerun predict ...`, or delete that file")


def fit(masks_npz: str | Path, predictions_npz: str | Path, fit_slice: dict, song: dict, stage_configs: dict,
        out_explanation: str | Path, out_config: str | Path) -> Path:
    """Fit the surrogates for one song and write the explanation JSON (no audio involved)."""
    masks_meta, mask_arrays = load_arrays(masks_npz)
    pred_meta, pred_arrays = load_arrays(predictions_npz)
    predictions = pred_arrays["predictions"]
    masks = mask_arrays["masks"]
    if "mask_rows" in pred_arrays:  # by_attribution: the pool rows the predict stage kept
        masks = masks[pred_arrays["mask_rows"]]
    masks = masks[:len(predictions)].astype(np.int64)  # the stopping rule may use a prefix
    original = pred_arrays["probabilities_original"]
    labels = fit_slice["labels"] if fit_slice["labels"] is not None else [int(np.argmax(original))]
    surrogate = fit_slice.get("surrogate", "lime")  # left out of the slice when lime (older keys stay)
    all_off = pred_arrays.get("prediction_all_off")
    if surrogate == "kernel_shap" and all_off is None and not np.any(masks.sum(axis=1) == 0):
        raise MusicLimeError(RERUN_PREDICT.format(path=predictions_npz))
    start = time.perf_counter()
    surrogates = fit_surrogates(masks, predictions, labels, surrogate, prediction_all_off=all_off,
                                sampler=masks_meta["sampler"], kernel_width=fit_slice["kernel_width"],
                                distance_scale=fit_slice["distance_scale"],
                                feature_selection=fit_slice["feature_selection"],
                                num_features=fit_slice["num_features"])
    layout = FeatureLayout(masks_meta["modality"], masks_meta["n_audio"], masks_meta["n_text"])
    full_start = time.perf_counter()
    full = fit_every_feature(masks, predictions, labels, layout, kernel_width=fit_slice["kernel_width"],
                             distance_scale=fit_slice["distance_scale"])
    certify = fit_slice.get("certification") or {}  # each key left out when default
    certification = certification_block(
        masks, predictions, {label: [i for i, _ in fitted.local_exp] for label, fitted in surrogates.fits.items()},
        full, layout, kernel_weights(masks, fit_slice["kernel_width"], fit_slice["distance_scale"]),
        certify.get("alpha", DEFAULT_ALPHA), certify.get("method", DEFAULT_METHOD),
        claim_level(certify.get("alpha", DEFAULT_ALPHA), pred_meta.get("stopping")))
    full_seconds = time.perf_counter() - full_start
    parameters = {**{k: masks_meta[k] for k in ("num_samples", "temporal_segments", "modality", "lyrics_unit",
                                                 "sampler", "seed")},
                  **({"grid_allocation": masks_meta["grid_allocation"]} if "grid_allocation" in masks_meta else {}),
                  **({"allocation": pred_meta["allocation"]} if "allocation" in pred_meta else {}),
                  **fit_slice, "surrogate": surrogate, "labels": list(labels), "model": pred_meta["model"]}
    metadata = explanation_metadata(
        masks_meta["audio"], song, masks_meta["lyrics_unit"], parameters,
        timings_s={"separation": masks_meta["separation_seconds"], "predict": pred_meta["predict_seconds"],
                   "fit": time.perf_counter() - start, **{f"fit_{m}": s for m, s in surrogates.seconds.items()},
                   "fit_full": full_seconds},
        model_calls=pred_meta["n_calls"], model_items=pred_meta["n_items"], config=stage_configs,
        costs=pred_meta.get("costs"), samples_used=len(masks), stopping=pred_meta.get("stopping"),
        provenance=recorded_provenance(pred_meta, song))
    metadata.update(surrogates.metadata(masks.shape[1]))
    metadata["full_fit"] = full_fit_block(full)
    metadata["certification"] = certification
    metadata.update(coarse_attribution(pred_meta, pred_arrays, full, layout, masks_meta["temporal_segments"],
                                       predictions_npz))
    explanation = MusicLIMEExplanation(None, None, masks, predictions, modality=masks_meta["modality"],
                                       features=masks_meta["features"], probabilities_original=original,
                                       metadata=metadata)
    for fitted in surrogates.fits.values():
        explanation.add_fit(fitted)
    explanation.save_to_json(out_explanation, num_features=20)
    write_config(out_config, {"song_id": song["song_id"], "fit": fit_slice, **stage_configs})
    return Path(out_explanation)


def coarse_attribution(pred_meta: dict, pred_arrays: dict, full: dict, layout: FeatureLayout,
                       temporal_segments: int, predictions_npz) -> dict:
    """``modality_attribution`` and ``stem_attribution`` (:mod:`musiclime.method.estimation.coarse_attribution`)
    from the coalitions the predict stage scored; nothing (with a warning) for predictions written
    before it scored them."""
    recorded = pred_meta.get("coalitions")
    if recorded is None or "coalition_predictions" not in pred_arrays:
        log.warning("%s has no coalition predictions (written by an older predict stage): no exact modality "
                    "and stem attribution; delete it and re-run to record them", predictions_npz)
        return {}
    table = CoalitionTable(tuple(recorded["players"]), tuple(recorded["sources"]),
                           pred_arrays["coalition_predictions"], recorded["costs"])
    modality, stems = attribution_blocks(table, list(full), {label: fit.coef for label, fit in full.items()},
                                         temporal_segments, layout.n_audio if layout.perturbs_audio else 0)
    return {"modality_attribution": modality, "stem_attribution": stems}


def recorded_provenance(pred_meta: dict, song: dict) -> dict:
    """``inputs`` (audio, lyrics) and ``weights`` hashes as the predict stage recorded them.

    Predictions written before musiclime recorded provenance lack them: then the song's files are
    hashed now (marked ``"hashed_by": "fit"``) and the weights are ``null`` with a note.
    """
    recorded = pred_meta.get("provenance") or {}
    inputs = dict(recorded.get("inputs") or {})
    for kind in ("audio", "lyrics"):
        path = song.get(kind)
        if not inputs.get(kind) and path and Path(path).is_file():
            inputs[kind] = {**describe_file(path), "hashed_by": "fit"}
    weights = recorded.get("weights") or describe_files(
        [], note="the predictions record no weight files (written before musiclime recorded provenance); "
                 "delete predictions.npz and re-run to record them")
    return {"inputs": inputs, "weights": weights}
