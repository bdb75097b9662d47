"""What an explanation contributes to MLflow: metrics and the feature ranking table.

Tracking reads explanations; it never recomputes them (``DESIGN.md`` section 8).
"""

from __future__ import annotations

import json
import logging
import os
import re
from pathlib import Path

from ..common.provenance import short_code
from ..method.explanation import MusicLIMEExplanation, load_explanation
from ..method.explanation_views import attribution_columns, certified_counts, explained_label
from .settings import RANKING_COLUMNS, TrackingError

log = logging.getLogger(__name__)

_METRIC_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. /]")


def read_explanation(path: str | os.PathLike) -> MusicLIMEExplanation:
    """Load an explanation JSON file; raise :class:`TrackingError` naming the file when unusable."""
    path = Path(path)
    if not path.is_file():
        raise TrackingError(f"explanation file {path} does not exist; nothing to log")
    try:
        return load_explanation(path)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise TrackingError(f"explanation file {path} is not a MusicLIME explanation JSON: {exc!r}") from exc


def song_id(explanation: MusicLIMEExplanation) -> str | None:
    """The explained song's id from ``metadata.song_info``, if recorded."""
    value = explanation.metadata.get("song_info", {}).get("song_id")
    return None if value is None else str(value)


def metric_name(name: str) -> str:
    """``name`` with characters MLflow rejects in metric keys replaced by ``_``."""
    return _METRIC_NAME_UNSAFE.sub("_", name)


#: Metadata counts of what an explanation cost, logged as metrics of the same names.
CALL_ACCOUNTING = ("model_calls", "model_items", "compositions", "audio_encodings", "lyric_encodings", "fused_rows",
                   "samples_used")


def explanation_metrics(explanation: MusicLIMEExplanation) -> dict[str, float]:
    """Numbers to log as metrics.

    Per explained label ``L``: ``score_label_L`` (surrogate R^2), ``intercept_label_L``,
    ``local_pred_label_L``; per class ``C``: ``prob_original_class_C``,
    ``prob_reconstruction_class_C``; the call accounting (``model_calls``, ``model_items``,
    ``compositions``, ``audio_encodings``, ``lyric_encodings``, ``fused_rows``, ``samples_used``, where
    recorded); ``certified_top_k``, ``certified_top_k_audio`` and ``certified_top_k_lyrics`` (top ranks
    certified for the explained label, where recorded); the exact attribution of the explained label
    (``exact_audio``, ``exact_lyrics``, ``exact_interaction``, ``exact_audio_share``, ``exact_<source>``,
    ``stem_consistency_gap``, where recorded); with the stopping rule on, ``stopping_stable``
    (1 or 0), ``stopping_rounds``, ``stopping_separation`` (standard errors at the last round) and
    ``stopping_certified_top_k``;
    ``surrogate_agreement_<jaccard_top5|spearman_abs>_label_L`` (LIME vs Kernel SHAP, when both were
    fitted) and ``kernel_shap_effective_samples``;
    ``timing_<stage>_s`` for each recorded timing; ``num_features_total`` (and its audio / lyrics split).
    """
    metrics: dict[str, float] = {}
    for label in sorted(explanation.local_exp):
        metrics[f"score_label_{label}"] = explanation.score[label]
        metrics[f"intercept_label_{label}"] = explanation.intercept[label]
        metrics[f"local_pred_label_{label}"] = explanation.local_pred[label]
    for kind, probs in (("original", explanation.probabilities_original),
                        ("reconstruction", explanation.probabilities_reconstruction)):
        for cls, value in enumerate([] if probs is None else probs):
            metrics[f"prob_{kind}_class_{cls}"] = value
    meta = explanation.metadata
    for name in CALL_ACCOUNTING:
        if meta.get(name) is not None:
            metrics[name] = meta[name]
    if explanation.local_exp:
        metrics.update(certified_counts(explanation, explained_label(explanation)))  # None (absent) is dropped
        metrics.update(attribution_columns(explanation, explained_label(explanation)))
    stopping = meta.get("stopping")
    if stopping:
        metrics["stopping_certified_top_k"] = stopping.get("certified_top_k")
        metrics["stopping_stable"] = float(stopping["stopped"] == "stable")
        metrics["stopping_rounds"] = len(stopping["rounds"])
        metrics["stopping_separation"] = stopping["rounds"][-1]["separation"]
    for label, agreement in ((meta.get("alternative_surrogate") or {}).get("agreement") or {}).items():
        for name, value in agreement.items():  # LIME vs Kernel SHAP on the same predictions
            metrics[f"surrogate_agreement_{name}_label_{label}"] = value
    if meta.get("kernel_shap_effective_samples") is not None:
        metrics["kernel_shap_effective_samples"] = meta["kernel_shap_effective_samples"]
    for stage, seconds in (meta.get("timings_s") or {}).items():
        metrics[metric_name(f"timing_{stage}_s")] = seconds
    metrics["num_features_total"] = len(explanation.features)
    metrics["num_features_audio"] = sum(f["type"] == "audio" for f in explanation.features)
    metrics["num_features_lyrics"] = sum(f["type"] == "lyrics" for f in explanation.features)
    return _numeric_only(metrics)


def _numeric_only(metrics: dict) -> dict[str, float]:
    """Keep values that convert to float (NaN allowed); drop and log the rest."""
    kept = {}
    for name, value in metrics.items():
        if isinstance(value, bool) or value is None:
            log.debug("metric %s skipped: %r is not a number", name, value)
            continue
        try:
            kept[name] = float(value)
        except (TypeError, ValueError):
            log.debug("metric %s skipped: %r is not a number", name, value)
    return kept


def ranking_rows(explanation: MusicLIMEExplanation) -> list[dict]:
    """Feature ranking of every explained label, one row per (label, feature), columns :data:`RANKING_COLUMNS`.

    Every feature of the explanation appears once per label, ranked by ``|weight|`` (ties by
    column order). Features the surrogate did not keep (``num_features`` < total) have weight 0.
    ``index`` is the feature's position within its own factorization (as in ``get_explanation``).
    """
    rows = []
    for label in sorted(explanation.local_exp):
        weights = {int(i): float(w) for i, w in explanation.local_exp[label]}
        order = sorted(range(len(explanation.features)), key=lambda col: (-abs(weights.get(col, 0.0)), col))
        for rank, col in enumerate(order, start=1):
            feature = explanation.features[col]
            weight = weights.get(col, 0.0)
            rows.append({"rank": rank, "label": int(label), "type": feature["type"], "feature": str(feature["feature"]),
                         "index": int(feature["index"]), "weight": weight, "abs_weight": abs(weight)})
    return rows


def ranking_table(explanation: MusicLIMEExplanation):
    """:func:`ranking_rows` as a ``pandas.DataFrame`` with columns :data:`RANKING_COLUMNS`."""
    import pandas as pd

    table = pd.DataFrame(ranking_rows(explanation), columns=list(RANKING_COLUMNS))
    # plain object columns: MLflow's log_table probes ``object`` columns, which pandas 3 warns about for ``str``
    return table.astype({"type": object, "feature": object})


def provenance_tags(explanation: MusicLIMEExplanation) -> dict[str, str]:
    """Tags of what made the explanation (its ``metadata.provenance``); empty for older files.

    ``musiclime.code`` (short commit, ``+dirty``, or ``v<version>``), ``musiclime.code.commit``,
    ``musiclime.code.dirty``, ``musiclime.code.version``, ``musiclime.package.<name>`` per recorded
    package version, ``musiclime.sha256.<audio|lyrics|weights>`` (``null`` when unknown), and MLflow's
    ``mlflow.source.git.commit`` when the code came from a git checkout.
    """
    provenance = explanation.metadata.get("provenance") or {}
    if not provenance:
        return {}
    code = provenance.get("code") or {}
    tags = {"musiclime.code": short_code(code), "musiclime.code.commit": _json_text(code.get("git_commit")),
            "musiclime.code.dirty": _json_text(code.get("git_dirty")),
            "musiclime.code.version": _json_text(code.get("version"))}
    for name, version in (provenance.get("packages") or {}).items():
        tags[f"musiclime.package.{name}"] = _json_text(version)
    inputs = provenance.get("inputs") or {}
    for kind in ("audio", "lyrics"):
        tags[f"musiclime.sha256.{kind}"] = _json_text((inputs.get(kind) or {}).get("sha256"))
    tags["musiclime.sha256.weights"] = _json_text((provenance.get("weights") or {}).get("sha256"))
    if code.get("git_commit"):
        tags["mlflow.source.git.commit"] = code["git_commit"]
    return tags


def _json_text(value) -> str:
    """A tag value: strings as they are, ``None`` and booleans as JSON (``null``, ``true``)."""
    return value if isinstance(value, str) else json.dumps(value)


def stringify(value) -> str:
    """Param/tag value as text: strings unchanged, lists/dicts as compact JSON, others via ``str``."""
    if isinstance(value, str):
        return value
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


#: Check-name prefixes of the second-opinion surrogate's verdicts (``shap_stability``, ``lime_faithfulness``, ...).
SECOND_OPINION_CHECK_PREFIXES = ("shap_", "lime_")


def evaluation_record(document: dict) -> tuple[dict[str, float], dict[str, str]]:
    """Metrics and tags of an ``evaluation.json`` document.

    Metrics: every computed trust metric (``null`` ones skipped) and, per verdict, ``passes_<check>``
    (1 or 0). Tags: per verdict, ``musiclime.verdict.<check>`` = ``"<label>: <evidence>"`` (e.g.
    ``"not stable: top-5 Jaccard 0.39 < 0.6"``). When the document says its second opinion is not
    shown (``"second_opinion": {"shown": false}``: the masks do not support it), no verdict of the
    second opinion (``shap_...``, ``lime_...``) nor its metrics are logged, whatever an older writer put in the file.
    """
    verdicts = document.get("verdicts") or []
    values = {name: value for name, value in document["metrics"].items() if value is not None}
    if not (document.get("second_opinion") or {}).get("shown", True):
        verdicts = [v for v in verdicts if not v["check"].startswith(SECOND_OPINION_CHECK_PREFIXES)]
        values = {name: value for name, value in values.items() if not name.startswith(SECOND_OPINION_CHECK_PREFIXES)}
    metrics = {name: float(value) for name, value in values.items()}
    metrics.update({metric_name(f"passes_{v['check']}"): float(bool(v["passed"])) for v in verdicts})
    tags = {f"musiclime.verdict.{v['check']}": f"{v['label']}: {v['evidence']}" for v in verdicts}
    return metrics, tags
