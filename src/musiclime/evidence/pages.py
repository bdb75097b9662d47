"""HTML pages from Jinja2 templates: one page per song and an index across songs and sweep points.

Every text that comes from data (lyrics, song ids, config values) goes through Jinja2's autoescape;
links are relative to the page (and URL-quoted), so a copied ``results/`` folder keeps working.
"""

from __future__ import annotations

import functools
import logging
import os
from pathlib import Path
from typing import Mapping, Sequence
from urllib.parse import quote

from ..method.explanation import MusicLIMEExplanation
from .comparison import SURROGATE_NAMES, surrogate_comparison
from ..method.explanation_views import lyric_lines_weighted, top_features
from .trust.verdicts import verdicts

log = logging.getLogger(__name__)

#: Meaning of each trust metric, shown beside its value.
METRIC_MEANINGS = {
    "jaccard_top5": "overlap of the top-5 features across mask seeds (1 = identical)",
    "jaccard_top10": "overlap of the top-10 features across mask seeds (1 = identical)",
    "jaccard_top5_content": "the top-5 overlap with copies of a repeated lyric line counted as one feature",
    "kendall_tau": "rank agreement of all features across mask seeds (1 = identical order)",
    "deletion_aopc": "mean probability drop when removing features in explanation order (higher = more faithful)",
    "random_deletion_aopc": "the same for random orders (baseline)",
    "insertion_aopc": "mean probability gain when inserting features in explanation order (higher = more faithful)",
    "random_insertion_aopc": "the same for random orders (baseline)",
}
#: What the randomization variants compare with, by metric prefix (cascade steps are named by their layers).
RANDOMIZATION_MEANINGS = {"randomization": "the model with every weight re-initialised",
                          "data_randomization": "the same architecture trained on shuffled labels"}
#: Which features a randomization correlation ranks, by metric suffix.
PART_MEANINGS = {"_audio": "among the audio components", "_lyrics": "among the lyrics features",
                 "_within_modality": "with features ranked within their modality (the recommended variant)",
                 "": "over every feature (mostly the audio/lyrics scale split)"}
#: Metric-name prefixes of the second-opinion surrogate (:mod:`musiclime.evidence.trust.second_opinion`).
SECOND_OPINION_PREFIXES = {"shap_": "kernel_shap", "lime_": "lime"}


def metric_meaning(name: str) -> str:
    """What a trust metric of ``evaluation.json`` means (``""`` when unknown); a second-opinion metric
    (``shap_...``) means its base metric, of that surrogate."""
    for prefix, method in SECOND_OPINION_PREFIXES.items():
        if name.startswith(prefix) and metric_meaning(name[len(prefix):]):
            return f"{SURROGATE_NAMES[method]}'s weights: {metric_meaning(name[len(prefix):])}"
    if name in METRIC_MEANINGS:
        return METRIC_MEANINGS[name]
    for part, where in PART_MEANINGS.items():
        if name.endswith("_spearman" + part):
            variant = name[:-len("_spearman" + part)]
            model = RANDOMIZATION_MEANINGS.get(variant) or (
                f"the model re-initialised from the top down to its {variant.removeprefix('cascade_')} layers")
            return f"rank correlation of |weight| {where} with the explanation of {model} (near 0 = passes)"
    return ""


def verdict_summary(evaluations: Sequence[Mapping | None]) -> list[str]:
    """Per check, how many of the songs' evaluations pass it, e.g. ``"faithfulness: 3 of 4 songs pass"``."""
    passed: dict[str, list[bool]] = {}
    for evaluation in evaluations:
        for verdict in verdict_rows(evaluation):
            passed.setdefault(verdict["check"], []).append(bool(verdict["passed"]))
    return [f"{check}: {sum(flags)} of {len(flags)} songs pass" for check, flags in passed.items()]


def verdict_rows(evaluation: Mapping | None) -> list[dict]:
    """The evaluation's verdicts (``check``, ``passed``, ``label``, ``evidence``); computed from its
    metrics when the file predates verdicts."""
    if not evaluation:
        return []
    if "verdicts" in evaluation:
        return [dict(v) for v in evaluation["verdicts"]]
    return [v.as_dict() for v in verdicts(evaluation.get("metrics", {}))]


@functools.lru_cache(maxsize=1)
def environment():
    """The Jinja2 environment over the package's ``templates/`` (autoescape on; built once, thread-safe to render)."""
    import jinja2

    return jinja2.Environment(loader=jinja2.PackageLoader("musiclime.evidence", "templates"),
                              autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
                              undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(template: str, **context) -> str:
    """Render ``templates/<template>`` with ``context``."""
    return environment().get_template(template).render(**context)


def relative_href(target: str | os.PathLike, page: str | os.PathLike) -> str:
    """URL of ``target`` relative to the folder of ``page`` (path segments percent-encoded)."""
    rel = os.path.relpath(Path(target).resolve(), Path(page).resolve().parent)
    return "/".join(quote(part) for part in Path(rel).parts)


def weight_color(weight: float | None, limit: float) -> str:
    """CSS background for a weight: red towards the explained class, blue away, transparent at 0."""
    if weight is None or limit <= 0 or weight == 0:
        return "transparent"
    alpha = min(1.0, abs(weight) / limit) * 0.75
    return f"rgba(214, 39, 40, {alpha:.3f})" if weight > 0 else f"rgba(31, 119, 180, {alpha:.3f})"


def fmt(value, digits: int = 4) -> str:
    """A number for a table cell; ``-`` when missing."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def probability_rows(explanation: MusicLIMEExplanation) -> list[dict]:
    """Per class: name, probability on the original mix and on the reconstruction."""
    original, recon = explanation.probabilities_original, explanation.probabilities_reconstruction
    n = len(original if original is not None else recon if recon is not None else [])
    return [{"name": explanation.label_name(c), "predicted": c == explanation.predicted_label,
             "original": fmt(None if original is None else float(original[c])),
             "reconstruction": fmt(None if recon is None else float(recon[c]))} for c in range(n)]


def lyrics_context(explanation: MusicLIMEExplanation, label: int) -> list[dict]:
    """Lines of highlighted lyrics: ``number`` and ``pieces`` (text, CSS colour, tooltip)."""
    lines = lyric_lines_weighted(explanation, label)
    weights = [abs(p.weight) for line in lines for p in line if p.weight is not None]
    limit = max(weights, default=0.0)
    out = []
    for pieces in lines:
        number = pieces[0].feature if len(pieces) == 1 and pieces[0].feature.startswith("L") else ""
        out.append({"number": number, "pieces": [
            {"text": p.text, "color": weight_color(p.weight, limit),
             "title": "" if p.weight is None else f"{p.feature}: weight {p.weight:+.4f}"} for p in pieces]})
    return out


def song_page(explanation: MusicLIMEExplanation, label: int, out_html: str | os.PathLike, *,
              pictures: Sequence[tuple[str, str | os.PathLike]] = (),
              audio: Sequence[tuple[str, str | os.PathLike]] = (), evaluation: Mapping | None = None,
              point: str | None = None, overrides: Sequence[str] = (), index_html: str | os.PathLike | None = None,
              num_features: int = 10) -> str:
    """HTML of one song's page.

    Args:
        pictures, audio: ``(caption, file)`` pairs, linked relative to ``out_html``.
        evaluation: the song's ``evaluation.json`` content (``metrics``, ``notes``), if evaluated.
    """
    info = explanation.metadata.get("song_info", {})
    params = explanation.metadata.get("parameters", {})
    fit = [("surrogate", SURROGATE_NAMES.get(explanation.metadata.get("surrogate", "lime"), "-")),
           ("surrogate R^2 (weighted, on the perturbations)", fmt(explanation.score[label])),
           ("intercept", fmt(explanation.intercept[label])),
           ("surrogate prediction at the full song", fmt(explanation.local_pred[label])),
           ("perturbation samples", fmt(params.get("num_samples"))),
           ("features (audio + lyrics)", fmt(len(explanation.features))),
           *call_accounting(explanation.metadata)]
    metrics = (evaluation or {}).get("metrics", {})
    return render(
        "song.html.j2", song_id=str(info.get("song_id", "")), point=point, overrides=list(overrides),
        label_name=explanation.label_name(label), true_label=info.get("true_label"),
        probabilities=probability_rows(explanation), fit=fit,
        evaluation=[{"name": k, "value": fmt(v), "meaning": metric_meaning(k)} for k, v in metrics.items()],
        verdicts=verdict_rows(evaluation),
        evaluation_notes=list((evaluation or {}).get("notes", [])),
        audio=[{"caption": c, "href": relative_href(p, out_html)} for c, p in audio],
        pictures=[{"caption": c, "href": relative_href(p, out_html)} for c, p in pictures],
        top=top_features(explanation, label, num_features), lyrics=lyrics_context(explanation, label),
        comparison=surrogate_comparison(explanation, label, num_features),
        second_opinion_note=(explanation.metadata.get("alternative_surrogate") or {}).get("note"),
        config=[(k, fmt(v)) for k, v in params.items()],
        index_href=None if index_html is None else relative_href(index_html, out_html))


#: What each call-accounting count of an explanation's metadata means, in page order.
COST_ROWS = (("sampler", "sampler"), ("samples_used", "samples scored and fitted"),
             ("stopping_verdict", "stopping rule"), ("compositions", "waveforms composed"),
             ("audio_encodings", "audio inputs encoded (late fusion)"),
             ("lyric_encodings", "lyrics inputs encoded (late fusion)"),
             ("fused_rows", "rows scored by the fusion head"), ("model_items", "items scored by predict_fn"),
             ("model_calls", "model calls"))


def call_accounting(metadata: Mapping) -> list[tuple[str, str]]:
    """``(meaning, value)`` rows of what the explanation cost (the counts it records) and its predict time."""
    values = {**metadata, "sampler": (metadata.get("parameters") or {}).get("sampler"),
              "stopping_verdict": stopping_verdict(metadata)}
    rows = [(meaning, fmt(values[key])) for key, meaning in COST_ROWS if values.get(key) is not None]
    seconds = (metadata.get("timings_s") or {}).get("predict")
    if seconds is not None:
        rows.append(("model time (s, composing and predicting)", fmt(seconds)))
    return rows


def stopping_verdict(metadata: Mapping) -> str | None:
    """What the stopping rule decided, in words (``None`` when it was off)."""
    stopping = metadata.get("stopping")
    if not stopping:
        return None
    rule, last = stopping["rule"], stopping["rounds"][-1]
    if stopping["stopped"] == "stable":
        return (f"top-{rule['top_k']} stable after {len(stopping['rounds'])} rounds "
                f"({last['separation']:.2f} >= {rule['z']:g} standard errors)")
    return (f"budget spent, top-{rule['top_k']} not yet stable "
            f"({last['separation']:.2f} < {rule['z']:g} standard errors)")


INDEX_COLUMNS = ("song", "true label", "predicted", "P original", "P reconstruction", "R^2", "top feature",
                 "jaccard_top5", "deletion_aopc", "random_deletion_aopc",
                 "randomization_spearman_within_modality", "verdicts")
#: Index columns of words, not numbers (left-aligned, wider).
INDEX_TEXT_COLUMNS = ("top feature", "verdicts")


def index_row(explanation: MusicLIMEExplanation, label: int, evaluation: Mapping | None) -> dict:
    """One index table row's values, keyed by :data:`INDEX_COLUMNS` (except ``song``)."""
    original, recon = explanation.probabilities_original, explanation.probabilities_reconstruction
    top = top_features(explanation, label, 1)
    metrics = (evaluation or {}).get("metrics", {})
    values = {"true label": fmt(explanation.metadata.get("song_info", {}).get("true_label")),
              "predicted": explanation.label_name(explanation.predicted_label),
              "P original": fmt(None if original is None else float(original[label])),
              "P reconstruction": fmt(None if recon is None else float(recon[label])),
              "R^2": fmt(explanation.score[label]),
              "top feature": f"{top[0]['label']} ({top[0]['weight']:+.3f})" if top else "-"}
    values.update({name: fmt(metrics.get(name)) for name in INDEX_COLUMNS[7:-1]})
    short = [INDEX_VERDICTS[v["check"]][not v["passed"]] for v in verdict_rows(evaluation)
             if v["check"] in INDEX_VERDICTS]
    values["verdicts"] = ", ".join(short) or "-"
    return values


#: The index's short verdicts of the explanation's own checks: ``check: (passed, failed)``.
INDEX_VERDICTS = {"stability": ("stable", "not stable"),
                  "stability_content": ("stable in content", "not stable in content"),
                  "faithfulness": ("faithful", "not faithful"),
                  "randomization": ("passes randomization", "fails randomization"),
                  "data_randomization": ("passes data randomization", "fails data randomization")}


#: Captions of a point's global importance files (``importance-<method>[-<suffix>].<ext>``), by suffix.
AGGREGATION_CAPTIONS = {
    "classes": "Per class (as in the MusicLIME paper): I_AVG of each audio component, sources x temporal segments, "
               "and the top features; n = songs a bar averages over (lyric lines are song-specific, usually n=1)",
    "comparison": "Class versus class: the difference of I_AVG per audio component, and each class's top features",
    "": "I_AVG and I_LIME per group kind (modality, source, segment) and class",
}


def aggregation_caption(path: str | os.PathLike) -> str:
    """The caption of a global importance file, naming its method (``importance-paper-classes.png``)."""
    stem = Path(path).stem
    method, _, suffix = stem.removeprefix("importance-").partition("-")
    if Path(path).suffix.lower() != ".png":
        return f"table of global importance ({method} method)"
    return f"{AGGREGATION_CAPTIONS.get(suffix, AGGREGATION_CAPTIONS[''])} ({method} method)."
