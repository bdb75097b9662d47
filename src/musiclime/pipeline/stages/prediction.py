"""Stage ``predict``: score every perturbed instance of one song, and the original, with the model."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ...common.artifacts import load_arrays, save_arrays, write_config
from ...common.errors import ConfigError, MusicLimeError
from ...common.model_cache import MODELS, model_key
from ...common.provenance import describe_file, describe_files
from ...factorization.lyrics import make_text_factorization, read_lyrics_file
from ...method.scoring.inference import predict_all_off, predict_original
from ...method.modality import FeatureLayout
from ...method.estimation.stopping import StoppingRule
from ...method.scoring.explanation_rows import score_explanation_rows
from .separation import load_factorization

log = logging.getLogger(__name__)


def load_predict_fn(model_slice: dict):
    """Instantiate the model config's ``predict_fn`` factory (``_target_``)."""
    from hydra.utils import instantiate

    try:
        return instantiate(model_slice["predict_fn"])
    except Exception as exc:
        raise ConfigError(f"config key model.predict_fn: cannot build model {model_slice['name']!r}: {exc}") from exc


def model_build(model_slice: dict) -> tuple:
    """``(key, build, files, what)``: how the model cache (:data:`~musiclime.common.model_cache.MODELS`) builds
    the model of ``model_slice``: its key, a function that builds it, its weight files, its name in logs."""
    return (model_key(model_slice), lambda: load_predict_fn(model_slice), model_slice.get("requires") or (),
            f"model {model_slice['name']!r}")


def cached_predict_fn(model_slice: dict):
    """The model of ``model_slice["predict_fn"]``, built once per process (:mod:`musiclime.common.model_cache`).

    A warm model worker keeps it for the next job that asks for the same factory config and weight
    files (``model.requires`` and the ``predict_fn``'s ``weight_files``); a new checkpoint is a new model.
    """
    key, build, files, what = model_build(model_slice)
    return MODELS.get(key, build, files=files, what=what)


def weights_provenance(predict_fn, model_slice: dict) -> dict:
    """SHA-256 of the weight files the model was loaded from (:func:`musiclime.common.provenance.describe_files`).

    The files are the ``predict_fn``'s ``weight_files`` attribute when it has one, else the model
    config's ``requires`` list; a model naming neither gets ``null`` hashes and a note saying so.
    """
    files = getattr(predict_fn, "weight_files", None)
    if files:
        return describe_files(files)
    if model_slice.get("requires"):
        return describe_files(model_slice["requires"], note="the files of model.requires (the predict_fn "
                                                            "names no weight_files)")
    return describe_files([], note=f"model {model_slice['name']!r} names no weight files (its predict_fn has no "
                                   "weight_files attribute and model.requires is empty)")


def song_model(model_slice: dict, sample_rate: int):
    """The model (:func:`cached_predict_fn`), checked against the song's sample rate (Hz).

    Raises:
        ConfigError: the model names a ``sample_rate`` other than ``data.sample_rate``.
    """
    predict_fn = cached_predict_fn(model_slice)
    model_rate = getattr(predict_fn, "sample_rate", None)
    if model_rate is not None and int(model_rate) != sample_rate:
        raise ConfigError(f"model {model_slice['name']!r} expects audio at {model_rate} Hz but data.sample_rate is "
                          f"{sample_rate} Hz")
    return predict_fn


def predict(stems_npz: str | Path, masks_npz: str | Path, lyrics_path: str | Path, coalitions_npz: str | Path,
            model_slice: dict, out_predictions: str | Path, out_config: str | Path, progress: bool = True) -> Path:
    """Score every perturbed instance of one song (streamed in batches), the original song and the
    all-off instance (``prediction_all_off``, Kernel SHAP's ``v(0)``: one more item, unless a scored
    mask row is already all zeros); copy in the song's coalitions (``coalition_predictions``, ``2 ** P``
    rows scored once per model and lyric unit by the ``attribute`` stage, :mod:`.attribution`), which
    choose the modalities the stopping rule must resolve and the ``by_attribution`` split."""
    from .attribution import load_coalitions

    masks_meta, arrays = load_arrays(masks_npz)
    song_id = masks_meta["song_id"]
    fact, stems_meta = load_factorization(stems_npz, masks_meta["temporal_segments"])
    text = make_text_factorization(read_lyrics_file(lyrics_path, song_id), masks_meta["lyrics_unit"])
    layout = FeatureLayout(masks_meta["modality"], masks_meta["n_audio"], masks_meta["n_text"])
    if (fact.get_number_components(), text.num_words()) != (layout.n_audio, layout.n_text):
        raise MusicLimeError(f"masks {masks_npz} do not match song {song_id!r}'s components; re-run the workflow")
    coalitions = load_coalitions(coalitions_npz, song_id, fact.source_names, text.num_words())
    predict_fn = song_model(model_slice, fact.sample_rate)
    original = predict_original(fact, text, predict_fn)
    settings = {"batch_size": model_slice["batch_size"], "progress": progress,
                "memory_budget_mb": model_slice["memory_budget_mb"]}
    scored_rows = score_explanation_rows(fact, text, arrays["masks"], layout, predict_fn,
                                         StoppingRule.from_config(masks_meta.get("stopping")), int(np.argmax(original)),
                                         masks_meta["sampler"], arrays.get("grid_cells"), masks_meta["num_samples"],
                                         coalitions=coalitions, **settings)
    result, record, coalitions, allocation = (scored_rows.result, scored_rows.record, scored_rows.coalitions,
                                              scored_rows.allocation)
    if allocation:
        log.info("%s: by_attribution kept %d audio and %d lyrics masks", song_id, allocation["k_audio"],
                 allocation["k_text"])
    if record is not None:
        log.info("%s: %s after %d of %d samples", song_id, record.stopped, record.samples_used, len(arrays["masks"]))
    # Kernel SHAP's v(0): every explained feature off (reused when a scored row is all zeros)
    all_off, extra = predict_all_off(fact, text, layout, predict_fn, scored_rows.masks, result.predictions,
                                     **{**settings, "progress": False})
    scored = result if extra is None else result.with_costs_of(extra)
    meta = {"song_id": song_id, "model": model_slice["name"], "n_calls": scored.n_calls + 1,
            "n_items": scored.model_items + 1, "costs": scored.costs(), "predict_seconds": scored.seconds,
            "samples_used": len(result.predictions),
            "stopping": None if record is None else record.as_dict(),
            "all_off": "reused a scored row" if extra is None else "scored",
            **({"allocation": allocation} if allocation else {}),
            "coalitions": {"players": list(coalitions.players), "sources": list(coalitions.sources),
                           "costs": coalitions.costs, "file": str(coalitions_npz)},
            "provenance": {"inputs": {"audio": stems_meta.get("audio_file"), "lyrics": describe_file(lyrics_path)},
                           "weights": weights_provenance(predict_fn, model_slice)}}
    save_arrays(out_predictions, meta, predictions=result.predictions, probabilities_original=original,
                prediction_all_off=all_off, coalition_predictions=coalitions.predictions,
                **({} if scored_rows.pool_rows is None else {"mask_rows": scored_rows.pool_rows}))
    write_config(out_config, {"song_id": song_id, "model": model_slice})
    return Path(out_predictions)


#: Runs in a warm model worker (musiclime.pipeline.worker_pool), which keeps the model for the next job.
predict.worker_pool = "models"
