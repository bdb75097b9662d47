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
from ..method.explanation_views import (certification_of, lyric_lines_weighted, modality_attribution_of,
                                        stem_attribution_of, top_features)
from .comparison import SURROGATE_NAMES, surrogate_comparison
from .ground_truth import ground_truth_sentence
from .lead import lead_sentences
from .rankings import ModalityRanking, modality_rankings
from .trust.support import explanation_caveat, gated_evaluation, second_opinion_support
from .trust.verdicts import verdicts

log = logging.getLogger(__name__)

#: Meaning of each trust metric, shown beside its value.
METRIC_MEANINGS = {
    "jaccard_top5": "overlap of the top-5 features across mask seeds (1 = identical)",
    "jaccard_top10": "overlap of the top-10 features across mask seeds (1 = identical)",
    "jaccard_top5_content": "the top-5 overlap with copies of a repeated lyric line counted as one feature",
    "kendall_tau": "rank agreement of all features across mask seeds (1 = identical order)",
    "claims_sets_nested": "pairs of mask seeds whose certified sets are nested, one inside the other (1 = all)",
    "claims_leaders_agree": "pairs of mask seeds where one page's named leaders are all in the other's certified "
                            "set (1 = all)",
    "claims_shares_agree": "pairs of mask seeds stating the same shares of the effect (1 = all)",
    "claims_pairs": "pairs of mask seeds compared",
    "deletion_aopc": "mean probability drop when removing features in explanation order (higher = more faithful)",
    "random_deletion_aopc": "the same for random orders (baseline)",
    "insertion_aopc": "mean probability gain when inserting features in explanation order (higher = more faithful)",
    "random_insertion_aopc": "the same for random orders (baseline)",
    "ground_truth_audio_auc": "rank AUC of the song's truth components in the audio ranking (1 = all above the rest, "
                              "0.5 = chance)",
    "ground_truth_audio_recall": "fraction of the k truth components in the audio ranking's top k",
    "ground_truth_audio_leaders_in_truth": "1 when every audio leader the page names (certified and resolved) is truth",
    "ground_truth_lyrics_auc": "rank AUC of the song's truth lyric lines in the lyrics ranking",
    "ground_truth_lyrics_recall": "fraction of the k truth lyric lines in the lyrics ranking's top k",
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
            passed.setdefault(verdict["title"], []).append(bool(verdict["passed"]))
    return [f"{title}: {sum(flags)} of {len(flags)} songs pass" for title, flags in passed.items()]


def verdict_rows(evaluation: Mapping | None) -> list[dict]:
    """The evaluation's verdicts (``check``, ``title``, ``passed``, ``label``, ``evidence``); computed
    from its metrics when the file predates verdicts."""
    if not evaluation:
        return []
    rows = evaluation["verdicts"] if "verdicts" in evaluation else [
        v.as_dict() for v in verdicts(evaluation.get("metrics", {}))]
    return [{**v, "title": check_title(v["check"])} for v in rows]


#: Readers' names of checks whose identifier does not read as words.
CHECK_TITLES = {"stability_content": "stability by content", "data_randomization": "data randomization"}
#: Whose check a second-opinion prefix marks.
CHECK_OWNERS = {"shap_": "Kernel SHAP's ", "lime_": "LIME's "}


def check_title(check: str) -> str:
    """A check's name for readers: ``stability by content``, ``Kernel SHAP's faithfulness``,
    ``cascade (fusion head)``."""
    for prefix, owner in CHECK_OWNERS.items():
        if check.startswith(prefix):
            return owner + check_title(check[len(prefix):])
    if check.startswith("cascade_"):
        return f"cascade ({check.removeprefix('cascade_').replace('_', ' ')})"
    return CHECK_TITLES.get(check, check.replace("_", " "))


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
              num_features: int = 10, detector_split: Mapping | None = None) -> str:
    """HTML of one song's page: the answer first (prediction and each modality's leading features),
    then each modality's ranking, the pictures and players, compact verdicts; tables fold away.

    Args:
        pictures, audio: ``(caption, file)`` pairs, linked relative to ``out_html``.
        evaluation: the song's ``evaluation.json`` content (``metrics``, ``notes``), if evaluated.
        num_features: features per ranking.
        detector_split: the song's split in the training of the fusion detector's head, ``{"split",
            "sentence"}`` (:meth:`~musiclime.evidence.detector_split.DetectorSplits.page_entry`); ``None``: no
            such head.
    """
    info = explanation.metadata.get("song_info", {})
    params = explanation.metadata.get("parameters", {})
    support = second_opinion_support(explanation.metadata, len(explanation.features))
    evaluation = gated_evaluation(evaluation, support)
    rankings = modality_rankings(explanation, label, num_features)
    fit = [("surrogate", SURROGATE_NAMES.get(explanation.metadata.get("surrogate", "lime"), "-")),
           ("surrogate R^2 (weighted, on the perturbations)", fmt(explanation.score[label])),
           ("intercept", fmt(explanation.intercept[label])),
           ("surrogate prediction at the full song", fmt(explanation.local_pred[label])),
           *full_fit_rows(explanation, label),
           ("perturbation samples", fmt(params.get("num_samples"))),
           ("features (audio + lyrics)", fmt(len(explanation.features))),
           *call_accounting(explanation.metadata)]
    metrics = (evaluation or {}).get("metrics", {})
    return render(
        "song.html.j2", song_id=str(info.get("song_id", "")), point=point, overrides=list(overrides),
        label_name=explanation.label_name(label), true_label=info.get("true_label"),
        song_notes=list(info.get("notes") or []), detector_split=detector_split,
        lead=lead_sentences(explanation, label, rankings),
        rankings=[ranking_context(r) for r in rankings], exact=exact_context(explanation, label),
        certified_meaning=certified_meaning(certification_of(explanation, label)),
        probabilities=probability_rows(explanation), fit=fit,
        evaluation=[{"name": k, "value": fmt(v), "meaning": metric_meaning(k)} for k, v in metrics.items()],
        verdicts=verdict_rows(evaluation),
        ground_truth=ground_truth_sentence((evaluation or {}).get("ground_truth"), label),
        evaluation_notes=[n for n in (evaluation or {}).get("notes", []) if n != support.reason],
        audio=[{"caption": c, "href": relative_href(p, out_html)} for c, p in audio],
        pictures=[{"caption": c, "href": relative_href(p, out_html)} for c, p in pictures],
        top=top_features(explanation, label, num_features), lyrics=lyrics_context(explanation, label),
        comparison=surrogate_comparison(explanation, label, num_features) if support.shown else None,
        second_opinion_note=None if support.shown else support.reason,
        caveat=explanation_caveat(explanation.metadata, len(explanation.features)),
        config=[(k, fmt(v)) for k, v in params.items()],
        index_href=None if index_html is None else relative_href(index_html, out_html))


def certified_meaning(certification: Mapping | None) -> str:
    """What the marks claim, by the certification's method and level: ``sequential`` certifies the order
    of the leading ranks, ``holm`` and ``bonferroni`` top-k sets (a rank in its place only where the
    sets above and below it are both certified)."""
    if certification is None:
        return "no rank certification was recorded for this explanation"
    alpha = f"family-wise error {certification['alpha']:.0%}"
    if "tested_at" in certification:
        alpha += f", each ranking tested at {certification['tested_at']:g} after the stopping rule's looks"
    if certification.get("method") == "sequential":
        return f"ranks 1 to k each verified in order, Goldwasser and Hooker's sequential test; {alpha}"
    return (f"Holm's test over every pair: a top-k set is certified when each member moves the model more than "
            f"every feature outside it; {alpha}" if certification.get("method", "holm") == "holm" else
            f"Bonferroni over every pair: a top-k set is certified when each member moves the model more than "
            f"every feature outside it; {alpha}")


def exact_context(explanation: MusicLIMEExplanation, label: int) -> dict | None:
    """The exact coarse attribution as the page shows it (``None`` when not recorded): ``cells`` (each
    stem, the lyrics, the audio as a whole and the interaction: name, value, colour), the four
    probabilities in words, what it cost and the fine explanation's consistency with it; ``lyrics``:
    whether the lyrics are shown (when no lyric feature was explained and removing the lyrics changes no
    probability, e.g. an instrumental or a song given without lyrics, the lyrics' and the interaction's
    cells, both exactly 0, are left out, and the probabilities are the audio's two)."""
    modality = modality_attribution_of(explanation, label)
    if modality is None:
        return None
    p = modality["probabilities"]
    # left out only when nothing of the lyrics was explained and they move nothing (exactly: empty lyrics);
    # a modality="audio" explanation of a song whose lyrics matter keeps the lyrics' cells
    lyrics = (any(f["type"] == "lyrics" for f in explanation.features)
              or p["both"] != p["audio_only"] or p["lyrics_only"] != p["neither"])
    stems = dict(stem_attribution_of(explanation, label) or {})
    consistency = stems.pop("consistency", None) or {}
    values = [(name, value) for name, value in stems.items() if lyrics or name != "lyrics"]
    values += [("audio (all stems)", modality["audio"])] + ([("audio x lyrics", modality["interaction"])]
                                                             if lyrics else [])
    limit = max(abs(v) for _, v in values) if values else 0.0
    block = explanation.metadata.get("stem_attribution") or {}
    gap = consistency.get("max_abs_gap")
    probabilities = (f"{p['both']:.3f} with everything, {p['lyrics_only']:.3f} without the audio, "
                     f"{p['audio_only']:.3f} without the lyrics, {p['neither']:.3f} without both" if lyrics else
                     f"{p['both']:.3f} with the audio, {p['lyrics_only']:.3f} without it")
    return {"cells": [{"name": n, "value": f"{v:+.3f}", "color": weight_color(v, limit)} for n, v in values],
            "probabilities": probabilities, "lyrics": lyrics,
            "predictions": block.get("predictions"),
            "consistency": None if gap is None else (
                f"the full fit's weights of each stem's components add up to within {gap:.3f} of its exact value "
                + ("(consistent)" if gap < 0.05 else "(the fine weights miss part of the stems' effect: read "
                                                      "the rankings with care)"))}


#: Certified audio ranks below which the page says the audio ranking is not certain.
MIN_CERTIFIED_AUDIO_RANKS = 5
#: Headings of the modalities' rankings.
RANKING_TITLES = {"audio": "Audio components", "lyrics": "Lyrics"}


def ranking_context(ranking: ModalityRanking) -> dict:
    """A modality's ranking as the page's template shows it: rows (with a tie-group row before the
    group tied at the certification boundary), its share, what is certain, and the weights' origin."""
    limit = max((abs(row.weight) for row in ranking.rows), default=0.0)
    rows = []
    for row in ranking.rows:
        if ranking.tie_ranks and row.rank == ranking.tie_ranks[0]:
            first, last = ranking.tie_ranks
            shown = sum(r.tied for r in ranking.rows)
            rows.append({"group": f"ranks {first}-{last}: tied (these samples cannot order them)"
                                  + (f"; {shown} of {last - first + 1} shown" if shown < last - first + 1 else "")})
        rows.append({"group": None, "rank": row.rank, "label": row.label, "weight": f"{row.weight:+.4f}",
                     "certified": row.rank_certified, "in_set": row.in_certified_set,
                     "tied": row.tied, "color": weight_color(row.weight, limit)})
    minimum = MIN_CERTIFIED_AUDIO_RANKS if ranking.modality == "audio" else 1
    uncertain = ranking.certified < minimum or not ranking.judged
    return {"modality": ranking.modality, "title": RANKING_TITLES[ranking.modality], "rows": rows,
            "share": ranking.share_words, "total": ranking.total, "status": ranking.status(minimum),
            "uncertain": uncertain,
            "source": ("full fit: a ridge on every feature, same masks and predictions" if ranking.full_fit else
                       "the explanation's own weights: features it did not select count as 0")}


def full_fit_rows(explanation: MusicLIMEExplanation, label: int) -> list[tuple[str, str]]:
    """Fit-table rows of the full fit and the rank certification, when recorded."""
    entry = ((explanation.metadata.get("full_fit") or {}).get("labels") or {}).get(str(label))
    rows = [] if entry is None else [("full fit R^2 (ridge on every feature)", fmt(entry.get("score")))]
    certification = certification_of(explanation, label)
    if certification is not None:
        rows.append(("certified top ranks of the explanation's own ranking",
                     f"{certification.get('certified_top_k', 0)} (alpha {certification['alpha']:g}; "
                     f"{certification['correction']})"))
    return rows


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
