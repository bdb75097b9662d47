"""Score masks round by round until the stopping rule (:mod:`musiclime.method.estimation.stopping`) is satisfied.

Round ``r`` scores rows ``ends[r-1]:ends[r]`` of the mask matrix; a late-fusion model reuses the
encodings of earlier rounds, so a round costs only the audio and lyrics inputs it adds.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np

from ...factorization.base import Factorization
from .inference import PredictFn, predict_masks
from .late_fusion import EncodingStore
from .memory_budget import DEFAULT_MEMORY_BUDGET_MB
from ..modality import FeatureLayout
from .model_io import PredictionResult
from ..estimation.stopping import StoppingRule, boundary_test, look_fractions, round_ends

log = logging.getLogger(__name__)

#: How the stopping rule spends alpha over its looks, in words for the record.
SPENDING = ("linear in rows: look r tests at alpha * (n_r - n_(r-1)) / N; the explanation's certified ranks are "
            "tested at the level of the look where the rule stopped, so they hold at alpha whichever look that was")


@dataclass
class StoppingRecord:
    """What the stopping rule saw and decided, as recorded in the explanation's metadata.

    Attributes:
        rule: the rule's settings.
        label: the class whose probability the rule tested.
        rounds: per round, ``rows`` scored so far, ``separation`` (standard errors between the top-k
            and the rest), the ``top`` features, ``certified_top_k`` (how many top ranks were certified)
            and ``critical_z`` (the standard errors a gap had to exceed).
        samples_used: rows scored (the explanation is fitted to these).
        stopped: ``"stable"`` (the top-``top_k`` set was certified) or ``"budget"`` (the last round
            ended without it).
        certified_top_k: top ranks certified at the last round.
        look_fraction: the share of ``alpha`` the last look spent
            (:func:`~musiclime.method.estimation.stopping.look_fractions`): the explanation's certified
            ranks are tested at ``alpha`` times it (:func:`~musiclime.method.estimation.stopping.claim_level`).
    """

    rule: dict
    label: int
    rounds: list[dict] = field(default_factory=list)
    samples_used: int = 0
    stopped: str = "budget"
    certified_top_k: int = 0
    look_fraction: float = 1.0

    def as_dict(self) -> dict:
        return {"rule": self.rule, "label": self.label, "rounds": self.rounds, "samples_used": self.samples_used,
                "stopped": self.stopped, "certified_top_k": self.certified_top_k,
                "look_fraction": round(self.look_fraction, 6), "spending": SPENDING}


def predict_until_stable(audio_factorization: Factorization, text_factorization, masks: np.ndarray,
                         layout: FeatureLayout, predict_fn: PredictFn, rule: StoppingRule, label: int,
                         ends: list[int], batch_size: int = 32, progress: bool = True,
                         memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB,
                         required: tuple[str, ...] = (),
                         store: EncodingStore | None = None) -> tuple[PredictionResult, StoppingRecord]:
    """Score growing prefixes of ``masks`` until the top-k features of ``label`` are certified.

    Args:
        masks: 0/1 ``(num_samples, layout.num_features)``, in the order rounds take them.
        rule: the stopping rule.
        label: the class whose probability the rule's surrogate explains.
        ends: increasing prefix lengths, the last at most ``num_samples``
            (:func:`musiclime.method.estimation.stopping.round_ends`).
        required: the modalities whose own top ``rule.modality_top_k`` ranks must be certified too (those
            that matter, :func:`musiclime.method.estimation.coarse_attribution.modalities_that_matter`).
        store: a late-fusion model's encodings made before the rounds (the coalitions'), reused.

    Returns:
        The predictions of the rows scored ``(samples_used, n_classes)`` with their summed costs, and
        the record of the rounds.
    """
    store = store if store is not None else EncodingStore()
    required = tuple(required) if rule.modality_top_k else ()
    record = StoppingRecord({**rule.as_dict(), **({"required_modalities": list(required)} if rule.modality_top_k
                                                  else {})}, int(label))
    results: list[PredictionResult] = []
    start = 0
    fractions = look_fractions(ends)
    for round_index, (end, fraction) in enumerate(zip(ends, fractions), start=1):
        results.append(predict_masks(audio_factorization, text_factorization, masks[start:end], layout, predict_fn,
                                     batch_size=batch_size, progress=progress, memory_budget_mb=memory_budget_mb,
                                     store=store))
        start = end
        predictions = np.concatenate([r.predictions for r in results], axis=0)
        test = boundary_test(masks[:end], predictions[:, label], layout, rule, required, rule.alpha * fraction)
        record.look_fraction = fraction
        record.rounds.append({"rows": int(end), "separation": round(test.separation, 4), "top": list(test.top),
                              "certified_top_k": int(test.certified_top_k), "critical_z": round(test.critical, 4),
                              "alpha": float(f"{rule.alpha * fraction:.4g}"),
                              **({"modality_certified": test.modality_certified} if required else {})})
        record.rule["z"] = round(test.critical, 2)  # the rounds' own threshold (fewer features: a smaller one)
        record.certified_top_k = int(test.certified_top_k)
        log.info("round %d: %d samples, top-%d %s separated by %.2f standard errors (%s %.2f), top-%d certified",
                 round_index, end, rule.top_k, list(test.top), test.separation,
                 "certified at" if test.stable else "need", test.critical, test.certified_top_k)
        if test.stable:
            record.stopped = "stable"
            break
    record.samples_used = int(start)
    return merge_results(results), record


def score_masks(audio_factorization: Factorization, text_factorization, masks: np.ndarray, layout: FeatureLayout,
                predict_fn: PredictFn, rule: StoppingRule | None, label: int, paired: bool = False,
                required: tuple[str, ...] = (), store: EncodingStore | None = None,
                **settings) -> tuple[PredictionResult, StoppingRecord | None]:
    """Score every mask (``rule`` is ``None``), or rounds of them until ``rule`` calls ``label``'s top
    features stable (:func:`predict_until_stable`, rounds of whole pairs when ``paired``; ``required``:
    the modalities whose own ranking must be certified too).

    Args:
        store: a late-fusion model's encodings made before (the coalitions'), reused and extended.
        settings: ``batch_size``, ``progress`` and ``memory_budget_mb`` of
            :func:`~musiclime.method.scoring.inference.predict_masks`.

    Returns:
        The predictions of the rows scored with their costs, and the rule's record (``None`` without a rule).
    """
    if rule is None:
        return predict_masks(audio_factorization, text_factorization, masks, layout, predict_fn, store=store,
                             **settings), None
    return predict_until_stable(audio_factorization, text_factorization, masks, layout, predict_fn, rule, label,
                                round_ends(len(masks), rule, pairs=paired), required=required, store=store,
                                **settings)


def merge_results(results: list[PredictionResult]) -> PredictionResult:
    """One result for consecutive rounds: predictions stacked, counts summed (each round counts only
    the inputs it encoded, :func:`~musiclime.method.scoring.late_fusion.predict_late_fusion`)."""
    total = {name: sum(getattr(r, name) for r in results) for name in
             ("n_calls", "seconds", "compositions", "model_items", "fused_rows", "audio_encodings",
              "lyric_encodings")}
    return PredictionResult(np.concatenate([r.predictions for r in results], axis=0), **total)
