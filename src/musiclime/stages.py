"""One function per workflow stage: paths in, paths out. Workflow scripts only call these.

Stages: demo songs and demo model (generated inputs), separate -> perturb -> predict -> fit ->
plot -> track, and the per-point report.
"""

from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np

from .artifacts import load_arrays, save_arrays, write_config
from .atomic_io import write_json
from .composition import short_hash
from .audio import load_audio
from .errors import ConfigError, MusicLimeError
from .explanation import MusicLIMEExplanation, feature_records
from .factorization import OpenUnmixFactorization, StemFactorization, TimeOnlyFactorization
from .factorization.base import Factorization
from .factorization.stems import read_stem_folder
from .inference import check_lyrics_for_modality, predict_masks, predict_original
from .lyrics import make_text_factorization
from .modality import FeatureLayout
from .sampling import sample_masks
from .surrogate import fit_surrogate

log = logging.getLogger(__name__)


# --- separation ------------------------------------------------------------------------------
def separate(song: dict, separation: dict, out_stems: str | Path, out_config: str | Path) -> Path:
    """Split one song into sources and save them.

    Args:
        song: ``Song.info()`` (``audio``, ``stems`` paths, ``song_id``).
        separation: the separation slice (``backend``, ``sample_rate``, backend settings).
        out_stems: ``.npz`` with ``stems`` float32 ``(nb_sources, nb_timesteps)``, ``mix`` ``(nb_timesteps,)``.
    """
    rate = int(separation["sample_rate"])
    backend = separation["backend"]
    start = time.perf_counter()
    audio, _ = load_audio(song["audio"], sample_rate=rate, mono=True)
    if backend == "stems":
        stems = read_stem_folder(song["stems"], rate)
        mix = _match_length(audio, len(next(iter(stems.values()))), song["song_id"], rate)
        fact: Factorization = StemFactorization(stems, sample_rate=rate, temporal_segments=1, mix=mix,
                                                residual=separation["residual"])
    elif backend == "openunmix":
        fact = OpenUnmixFactorization(audio, temporal_segments=1, sample_rate=rate, model=separation["model"],
                                      device=separation["device"], residual=separation["residual"],
                                      chunk_seconds=separation["chunk_seconds"],
                                      overlap_seconds=separation["overlap_seconds"], niter=separation["niter"],
                                      chunk_batch=separation.get("chunk_batch", 4))
    elif backend == "time_only":
        fact = TimeOnlyFactorization(audio, sample_rate=rate, temporal_segments=1)
    else:
        raise ConfigError(f"config key separation.backend: unknown backend {backend!r}")
    meta = {"song_id": song["song_id"], "backend": backend, "sample_rate": rate, "sources": fact.source_names,
            "separation_seconds": time.perf_counter() - start,
            "reconstruction_rel_error": fact.reconstruction_error()}
    save_arrays(out_stems, meta, stems=fact.stems, mix=fact.mix)
    write_config(out_config, {"song": song, "separation": separation})
    log.info("%s: %s sources %s in %.1f s", song["song_id"], backend, fact.source_names, meta["separation_seconds"])
    return Path(out_stems)


def _match_length(audio: np.ndarray, length: int, song_id: str, rate: int, tolerance_s: float = 0.1) -> np.ndarray:
    """The mix cut or zero-padded to the stems' ``length`` (codecs may pad a few samples)."""
    if abs(audio.shape[0] - length) > tolerance_s * rate:
        raise ConfigError(f"song {song_id!r}: the mix has {audio.shape[0] / rate:.2f} s but its stems "
                          f"{length / rate:.2f} s")
    return audio[:length] if audio.shape[0] >= length else np.pad(audio, (0, length - audio.shape[0]))


def load_factorization(stems_npz: str | Path, temporal_segments: int) -> tuple[Factorization, dict]:
    """Rebuild a factorization with ``temporal_segments`` from a separation artifact."""
    meta, arrays = load_arrays(stems_npz)
    fact = Factorization(arrays["stems"], meta["sources"], meta["sample_rate"], temporal_segments, mix=arrays["mix"])
    fact.backend = meta["backend"]
    return fact, meta


# --- perturbation masks ------------------------------------------------------------------------
def perturb(stems_npz: str | Path, lyrics_path: str | Path, masks_slice: dict, song_id: str,
            out_masks: str | Path, out_config: str | Path) -> Path:
    """Draw the perturbation masks of one song and record what every column means."""
    fact, sep_meta = load_factorization(stems_npz, masks_slice["temporal_segments"])
    text = make_text_factorization(_read_lyrics(lyrics_path, song_id), masks_slice["lyrics_unit"])
    check_lyrics_for_modality(text, masks_slice["modality"], song_id)
    layout = FeatureLayout(masks_slice["modality"], fact.get_number_components(), text.num_words())
    masks = sample_masks(masks_slice["num_samples"], layout.num_features, masks_slice["seed"], masks_slice["sampler"])
    meta = {"song_id": song_id, **masks_slice, "n_audio": layout.n_audio, "n_text": layout.n_text,
            "features": feature_records(fact, text, layout.modality), "audio": fact.describe(),
            "separation_seconds": sep_meta["separation_seconds"]}
    save_arrays(out_masks, meta, masks=masks.astype(np.int8))
    write_config(out_config, {"song_id": song_id, "masks": masks_slice})
    return Path(out_masks)


def _read_lyrics(path: str | Path, song_id: str) -> str:
    path = Path(path)
    if not path.is_file():
        raise MusicLimeError(f"lyrics file of song {song_id!r} not found: {path}")
    return path.read_text(encoding="utf-8")


# --- model inference ---------------------------------------------------------------------------
def load_predict_fn(model_slice: dict):
    """Instantiate the model config's ``predict_fn`` factory (``_target_``)."""
    from hydra.utils import instantiate

    try:
        return instantiate(model_slice["predict_fn"])
    except Exception as exc:
        raise ConfigError(f"config key model.predict_fn: cannot build model {model_slice['name']!r}: {exc}") from exc


def predict(stems_npz: str | Path, masks_npz: str | Path, lyrics_path: str | Path, model_slice: dict,
            out_predictions: str | Path, out_config: str | Path, progress: bool = True) -> Path:
    """Score every perturbed instance of one song (streamed in batches) and the original song."""
    masks_meta, arrays = load_arrays(masks_npz)
    song_id = masks_meta["song_id"]
    fact, _ = load_factorization(stems_npz, masks_meta["temporal_segments"])
    text = make_text_factorization(_read_lyrics(lyrics_path, song_id), masks_meta["lyrics_unit"])
    layout = FeatureLayout(masks_meta["modality"], masks_meta["n_audio"], masks_meta["n_text"])
    if (fact.get_number_components(), text.num_words()) != (layout.n_audio, layout.n_text):
        raise MusicLimeError(f"masks {masks_npz} do not match song {song_id!r}'s components; re-run the workflow")
    predict_fn = load_predict_fn(model_slice)
    model_rate = getattr(predict_fn, "sample_rate", None)
    if model_rate is not None and int(model_rate) != fact.sample_rate:
        raise ConfigError(f"model {model_slice['name']!r} expects audio at {model_rate} Hz but data.sample_rate is "
                          f"{fact.sample_rate} Hz")
    original = predict_original(fact, text, predict_fn)
    result = predict_masks(fact, text, arrays["masks"], layout, predict_fn, batch_size=model_slice["batch_size"],
                           progress=progress, memory_budget_mb=model_slice.get("memory_budget_mb", 768))
    meta = {"song_id": song_id, "model": model_slice["name"], "n_calls": result.n_calls + 1,
            "n_items": int(arrays["masks"].shape[0]) + 1, "predict_seconds": result.seconds}
    save_arrays(out_predictions, meta, predictions=result.predictions, probabilities_original=original)
    write_config(out_config, {"song_id": song_id, "model": model_slice})
    return Path(out_predictions)


# --- LIME fit ----------------------------------------------------------------------------------
def fit(masks_npz: str | Path, predictions_npz: str | Path, fit_slice: dict, song: dict, stage_configs: dict,
        out_explanation: str | Path, out_config: str | Path) -> Path:
    """Fit the surrogate for one song and write the explanation JSON (no audio involved)."""
    masks_meta, mask_arrays = load_arrays(masks_npz)
    pred_meta, pred_arrays = load_arrays(predictions_npz)
    masks, predictions = mask_arrays["masks"].astype(np.int64), pred_arrays["predictions"]
    original = pred_arrays["probabilities_original"]
    labels = fit_slice["labels"] if fit_slice["labels"] is not None else [int(np.argmax(original))]
    start = time.perf_counter()
    fits = fit_surrogate(masks, predictions, labels, kernel_width=fit_slice["kernel_width"],
                         distance_scale=fit_slice["distance_scale"],
                         feature_selection=fit_slice["feature_selection"], num_features=fit_slice["num_features"])
    audio = masks_meta["audio"]
    metadata = {
        "song_info": song,
        "sample_rate": audio["sample_rate"],
        "segment_boundaries_s": audio["segment_boundaries_s"],
        "factorization": audio,
        "lyrics_unit": masks_meta["lyrics_unit"],
        "parameters": {**{k: masks_meta[k] for k in ("num_samples", "temporal_segments", "modality", "lyrics_unit",
                                                      "sampler", "seed")},
                       **fit_slice, "labels": list(labels), "model": pred_meta["model"]},
        "config": stage_configs,
        "timings_s": {"separation": masks_meta["separation_seconds"], "predict": pred_meta["predict_seconds"],
                      "fit": time.perf_counter() - start},
        "model_calls": pred_meta["n_calls"],
        "model_items": pred_meta["n_items"],
    }
    explanation = MusicLIMEExplanation(None, None, masks, predictions, modality=masks_meta["modality"],
                                       features=masks_meta["features"], probabilities_original=original,
                                       metadata=metadata)
    for surrogate in fits.values():
        explanation.add_fit(surrogate)
    explanation.save_to_json(out_explanation, num_features=20)
    write_config(out_config, {"song_id": song["song_id"], "fit": fit_slice, **stage_configs})
    return Path(out_explanation)


# --- MLflow tracking ---------------------------------------------------------------------------
def track_parent(tracking: dict, sweep_id: str, sweep_name: str, overrides: list[str], points: dict,
                 out_parent: str | Path) -> Path:
    """Find or create the invocation's MLflow parent run; record its id."""
    from . import tracking as mlflow_tracking  # deferred: mlflow is a heavy import

    settings = mlflow_tracking.TrackingSettings(uri=tracking["uri"], experiment_name=tracking["experiment_name"])
    mlflow_tracking.check_tracking_uri(settings.uri)
    run_id = mlflow_tracking.ensure_parent_run(
        settings, sweep_id=sweep_id, sweep_name=sweep_name,
        params={"overrides": " ".join(overrides) or "(none)", "num_points": len(points)},
        tags={"musiclime.experiment": sweep_name})
    write_json(out_parent, {"run_id": run_id, "sweep_id": sweep_id, "uri": settings.uri,
                            "experiment_name": settings.experiment_name})
    return Path(out_parent)


def track(explanation_path: str | Path, plot_path: str | Path, config_path: str | Path, parent_json: str | Path,
          tracking: dict, point: str, overrides: list[str], stage_keys: dict, config: dict, sweep_name: str,
          out_run: str | Path) -> Path:
    """Log one explanation (song x sweep point) as an MLflow run under the invocation's parent."""
    from . import tracking as mlflow_tracking  # deferred: mlflow is a heavy import

    parent = json.loads(Path(parent_json).read_text())
    settings = mlflow_tracking.TrackingSettings(uri=tracking["uri"], experiment_name=tracking["experiment_name"])
    mlflow_tracking.check_tracking_uri(settings.uri)
    meta = json.loads(Path(explanation_path).read_text())["metadata"]
    song_id = meta["song_info"]["song_id"]
    explain = config["explain"]
    params = {"song": song_id, "modality": explain["modality"], "num_samples": explain["num_samples"],
              "temporal_segments": explain["temporal_segments"], "kernel_width": explain["kernel_width"],
              "distance_scale": explain["distance_scale"], "sampler": explain["sampler"], "seed": explain["seed"],
              "feature_selection": explain["feature_selection"], "num_features": explain["num_features"],
              "model": config["model"]["name"], "separation_backend": config["separation"]["backend"],
              "lyrics_unit": explain["lyrics_unit"]}
    tags = {"musiclime.experiment": sweep_name, "musiclime.sweep_id": parent["sweep_id"],
            "musiclime.sweep_point": point, "musiclime.point_overrides": " ".join(overrides) or "(none)",
            "musiclime.config_hash": short_hash(config), "musiclime.song": song_id,
            **{f"musiclime.key.{stage}": key for stage, key in stage_keys.items()}}
    run_id = mlflow_tracking.log_explanation(
        settings, explanation_path, run_key=f"{point}/{song_id}", parent_run_id=parent["run_id"], params=params,
        tags=tags, artifacts=[plot_path], config_path=config_path)
    write_json(out_run, {"run_id": run_id, "run_key": f"{point}/{song_id}", "uri": settings.uri,
                         "explanation": str(explanation_path)})
    return Path(out_run)


def track_report(parent_json: str | Path, tracking: dict, point: str, files: list[str], out_marker: str | Path) -> Path:
    """Attach a sweep point's summary, HTML report and config to the invocation's parent run."""
    from . import tracking as mlflow_tracking  # deferred: mlflow is a heavy import

    parent = json.loads(Path(parent_json).read_text())
    settings = mlflow_tracking.TrackingSettings(uri=tracking["uri"], experiment_name=tracking["experiment_name"])
    mlflow_tracking.log_point_report(settings, parent["run_id"], point, files)
    write_json(out_marker, {"parent_run_id": parent["run_id"], "point": point, "files": list(files)})
    return Path(out_marker)
