"""The index's rows: one line per song of a sweep point, and the point's note on hidden second opinions.

Each row names the prediction, the fit, each modality's top feature (of the full fit, a check mark
when its rank is certified), the headline trust numbers and the verdicts, short enough that the
table fits a 1300 px window. Evaluations are read as a reader may see them
(:func:`reader_evaluation`: no second opinion where its masks do not support it).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from ..method.estimation.coarse_attribution import share_kind
from ..method.explanation import MusicLIMEExplanation
from .pages import fmt, verdict_rows
from ..method.explanation_views import modality_attribution_of
from .detector_split import detector_metrics
from .claims import resolved
from .rankings import RankedFeature, modality_rankings
from .trust.support import MIN_EFFECTIVE_ROWS_PER_FEATURE, gated_evaluation, second_opinion_support

#: Columns of a point's table, in order.
INDEX_COLUMNS = ("song", "true label", "predicted", "P original / reconstruction", "R^2", "top audio", "top lyrics",
                 "top-5 Jaccard", "deletion AOPC (random orders)", "randomization rho", "ground truth", "verdicts")
#: Index columns of words, not numbers (left-aligned, wider).
INDEX_TEXT_COLUMNS = ("top audio", "top lyrics", "ground truth", "verdicts")
#: What an index column holds, shown as its header's tooltip.
INDEX_COLUMN_TITLES = {
    "top audio": "the audio's exact share of the effect (|audio| / (|audio| + |lyrics|) of the two modalities' exact "
                 "Shapley values; their exact value where they do not add up to 0.01 or push opposite ways), then the "
                 "audio component with the largest |weight| (full fit) and its weight, where a top set is certified "
                 "and the audio moves the probability by at least 0.01 (a check mark: its rank is certified; 'one of "
                 "a certified top k': only the set); else none",
    "top lyrics": "the lyric unit with the largest |weight| (full fit) and its weight, where a top set is certified "
                  "(a check mark: its rank is certified; 'one of a certified top k': only the set); else none",
    "top-5 Jaccard": "jaccard_top5: overlap of the top-5 features across mask seeds (1 = identical)",
    "deletion AOPC (random orders)": "deletion_aopc, and random_deletion_aopc in brackets: "
                                     "higher than random = faithful",
    "randomization rho": "randomization_spearman_within_modality: near 0 = passes the randomization check",
    "ground truth": "songs with ground truth: per modality, the rank AUC of the truth features (1 = all above the "
                    "rest) and how many of the k truth features are in the top k",
}
#: Characters of a lyric unit in an index cell.
INDEX_LABEL_CHARS = 36


def index_row(explanation: MusicLIMEExplanation, label: int, evaluation: Mapping | None) -> dict:
    """One index table row's values, keyed by :data:`INDEX_COLUMNS` (except ``song``); the evaluation is
    read as a reader may see it (:func:`reader_evaluation`)."""
    original, recon = explanation.probabilities_original, explanation.probabilities_reconstruction
    evaluation = reader_evaluation(explanation, evaluation)
    metrics = (evaluation or {}).get("metrics", {})
    attribution = modality_attribution_of(explanation, label)
    tops = {r.modality: (r.rows[0], r.certified) if resolved(r, attribution) else None
            for r in modality_rankings(explanation, label, 1) if r.rows}
    values = {"true label": fmt(explanation.metadata.get("song_info", {}).get("true_label")),
              "predicted": explanation.label_name(explanation.predicted_label),
              "P original / reconstruction": " / ".join(fmt(None if p is None else float(p[label]), 3)
                                                        for p in (original, recon)),
              "R^2": fmt(explanation.score[label], 3),
              "top audio": _audio_share(attribution) + (_top_cell(tops["audio"]) if "audio" in tops else "-"),
              "top lyrics": _top_cell(tops["lyrics"]) if "lyrics" in tops else "-",
              "top-5 Jaccard": fmt(metrics.get("jaccard_top5"), 2),
              "deletion AOPC (random orders)": f"{fmt(metrics.get('deletion_aopc'), 3)} "
                                               f"({fmt(metrics.get('random_deletion_aopc'), 3)})",
              "randomization rho": _signed(metrics.get("randomization_spearman_within_modality")),
              "ground truth": ground_truth_cell((evaluation or {}).get("ground_truth"), label)}
    short = [INDEX_VERDICTS[v["check"]][not v["passed"]] for v in verdict_rows(evaluation)
             if v["check"] in INDEX_VERDICTS]
    values["verdicts"] = ", ".join(short) or "-"
    return values


def ground_truth_cell(check: Mapping | None, label: int) -> str:
    """``audio 0.95, 3/3; lyrics 1.00, 2/2`` (rank AUC, truth in the top k); ``-`` without ground truth."""
    entry = ((check or {}).get("labels") or {}).get(str(label)) or {}
    parts = []
    for modality in ("audio", "lyrics"):
        score = entry.get(modality)
        if score:
            found = 0 if score["recall"] is None else round(score["recall"] * score["k"])
            parts.append(f"{modality} {fmt(score['auc'], 2)}, {found}/{score['k']}")
    return "; ".join(parts) or "-"


def ground_truth_summary(evaluations: Sequence[Mapping | None]) -> str | None:
    """A point's line on its songs with ground truth: ``Ground truth (4 songs): audio AUC 0.91 (recall 0.75),
    lyric lines AUC 1.00 (recall 1.00), means over the songs``; ``None`` when no song has any."""
    metrics = [(e or {}).get("metrics", {}) for e in evaluations if (e or {}).get("ground_truth")]
    if not metrics:
        return None
    parts = []
    for modality, words in (("audio", "audio"), ("lyrics", "lyric lines")):
        auc = [m[f"ground_truth_{modality}_auc"] for m in metrics if m.get(f"ground_truth_{modality}_auc") is not None]
        recall = [m[f"ground_truth_{modality}_recall"] for m in metrics
                  if m.get(f"ground_truth_{modality}_recall") is not None]
        if auc or recall:
            parts.append(f"{words} AUC {fmt(sum(auc) / len(auc) if auc else None, 2)} "
                         f"(recall {fmt(sum(recall) / len(recall) if recall else None, 2)})")
    songs = f"{len(metrics)} song{'s' if len(metrics) != 1 else ''}"
    return f"Ground truth ({songs}): " + (", ".join(parts) + ", means over the songs" if parts
                                                      else "nothing maps onto the explanations' features")


def class_attribution_summary(explanations: Sequence[MusicLIMEExplanation]) -> str | None:
    """A point's line on the exact attribution per class: ``Exact attribution, mean over each class's songs:
    AI-Generated (2 songs): audio 5%, lyrics 95% (vocals +0.012, ...)``; ``None`` when none recorded."""
    from .tables import class_attribution_rows

    rows = class_attribution_rows(explanations)
    if not rows:
        return None
    parts = []
    for label in sorted({r["class"] for r in rows}):
        mine = [r for r in rows if r["class"] == label]
        modality = {r["player"]: r for r in mine if r["kind"] == "modality"}
        stems = sorted((r for r in mine if r["kind"] == "stem" and r["player"] != "lyrics"),
                       key=lambda r: -abs(r["mean"]))
        n = modality["audio"]["n_songs"]
        shares = {m: modality[m]["share"] or 0.0 for m in ("audio", "lyrics")}
        parts.append(f"{mine[0]['class_name']} ({n} song{'s' if n != 1 else ''}): audio {shares['audio']:.0%}, "
                     f"lyrics {shares['lyrics']:.0%} of the mean |effect| (stems: "
                     + ", ".join(f"{r['player']} {r['mean']:+.3f}" for r in stems) + ")")
    return "Exact attribution per class, means over its songs: " + "; ".join(parts)


def _audio_share(attribution: Mapping | None) -> str:
    """``4% of the effect; `` (the exact audio share, where a page states shares), ``exact +0.003; ``
    (where it does not: :func:`~musiclime.method.estimation.coarse_attribution.share_kind`), or ``""``
    when not recorded."""
    if attribution is None or attribution.get("audio_share") is None:
        return ""
    if share_kind(attribution) != "shares":
        return f"exact {float(attribution['audio']):+.3f}; "
    return f"{attribution['audio_share']:.0%} of the effect; "


def _top_cell(top: tuple[RankedFeature, int] | None) -> str:
    """The top feature and its weight, a check mark where rank 1 is certified in its place, ``one of a
    certified top 3`` where only the set is."""
    if top is None:
        return "none certified"
    row, k = top
    label = row.label if len(row.label) <= INDEX_LABEL_CHARS else row.label[:INDEX_LABEL_CHARS - 1] + "…"
    mark = " \u2713" if row.rank_certified else (f", one of a certified top {k}" if row.in_certified_set else "")
    return f"{label} ({row.weight:+.3f}){mark}"


def _signed(value) -> str:
    return "-" if value is None else f"{float(value):+.2f}"


def reader_evaluation(explanation: MusicLIMEExplanation, evaluation: Mapping | None) -> dict | None:
    """The evaluation as pages and indexes show it: without the second opinion's metrics and verdicts
    where the explanation's masks do not support it (:mod:`musiclime.evidence.trust.support`)."""
    return gated_evaluation(evaluation, second_opinion_support(explanation.metadata, len(explanation.features)))


def second_opinion_summary(explanations: Sequence[MusicLIMEExplanation]) -> str | None:
    """A point's line on its hidden second opinions: ``Kernel SHAP's second opinion is not shown for 4 of
    4 songs: its importance weights leave 31 to 97 effective rows (needs 112 to 124); ...``."""
    supports = [second_opinion_support(e.metadata, len(e.features)) for e in explanations]
    hidden = [s for s in supports if not s.shown and s.effective_rows is not None]
    if not hidden:
        return None
    rows = sorted(s.effective_rows for s in hidden)
    needed = sorted(s.needed for s in hidden)
    span = (lambda values, f: f(values[0]) if f(values[0]) == f(values[-1]) else f"{f(values[0])} to {f(values[-1])}")
    return (f"Kernel SHAP's second opinion (its weights, metrics and verdicts) is not shown for {len(hidden)} of "
            f"{len(supports)} songs: its importance weights leave {span(rows, lambda v: f'{v:.0f}')} effective rows "
            f"(needs {span(needed, str)}, {MIN_EFFECTIVE_ROWS_PER_FEATURE} per feature); "
            "use explain.sampler=shapley or more explain.num_samples")


#: The index's short verdicts of the explanation's own checks: ``check: (passed, failed)``.
INDEX_VERDICTS = {"stability": ("stable", "not stable"),
                  "stability_content": ("stable in content", "not stable in content"),
                  "faithfulness": ("faithful", "not faithful"),
                  "randomization": ("passes randomization", "fails randomization"),
                  "data_randomization": ("passes data randomization", "fails data randomization")}


def detector_summary(detector: Mapping | None) -> str | None:
    """A point's line on the detector the workflow trained (``model=fusion``), from its ``metrics.json``: how
    many songs trained, validated and tested it, and its test scores beside the single-modality heads'.
    ``None`` for other models. ``detector``: ``key`` and ``files`` (``metrics.json`` among them)."""
    metrics = detector_metrics(detector)
    if metrics is None:
        return None
    split = {name: len(songs) for name, songs in (metrics.get("split") or {}).items()}
    test = metrics.get("test") or {}

    def score(value) -> str:
        return "n/a" if value is None else f"{value:.2f}"

    alone = [f"{name.replace('_', '-')} head {score(((metrics.get(name) or {}).get('test') or {}).get('balanced_accuracy'))}"
             for name in ("audio_only", "lyrics_only")]
    caution = " (few test songs: read these as rough)" if 0 < split.get("test", 0) < 20 else ""
    return (f"Detector {detector['key']}, head trained by the workflow on {split.get('train', 0)} songs, validated on "
            f"{split.get('validation', 0)} and tested on {split.get('test', 0)}: test accuracy "
            f"{score(test.get('accuracy'))}, balanced accuracy {score(test.get('balanced_accuracy'))}, ROC AUC "
            f"{score(test.get('roc_auc'))}; balanced accuracy of the {alone[0]}, of the {alone[1]}{caution}")
