"""Faithfulness: does removing the features an explanation ranks first change the prediction most?

Deletion: start from the full song (every feature on) and switch features off in explanation order
(largest weight towards the explained class first), recording the class probability. Insertion:
start from nothing and switch them on in the same order. Features are moved in ``steps`` chunks
(``round(s * F / steps)`` features after step ``s``), so a curve costs ``steps + 1`` model items.
The area over the perturbation curve (AOPC) is the mean change from the start over the steps:
``deletion_aopc = mean_s (p_0 - p_s)`` and ``insertion_aopc = mean_s (p_s - p_0)``; higher is more
faithful. The same curves for ``draws`` random orders give the baseline (``random_*_aopc``).
Every curve is scored in one streamed ``predict_masks`` call.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from ...common.errors import ConfigError
from ...method.scoring.inference import predict_masks
from ...method.modality import FeatureLayout

log = logging.getLogger(__name__)


def explanation_order(weights: np.ndarray) -> np.ndarray:
    """Feature indices by descending weight (most supportive of the class first; ties by index)."""
    return np.argsort(-np.asarray(weights, dtype=np.float64), kind="stable")


def perturbation_masks(order: np.ndarray, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Deletion and insertion masks, each int8 ``(steps + 1, F)``, moving features in ``order`` in chunks."""
    n = len(order)
    counts = np.rint(np.linspace(0, n, steps + 1)).astype(int)
    deletion = np.ones((steps + 1, n), dtype=np.int8)
    insertion = np.zeros((steps + 1, n), dtype=np.int8)
    for s, count in enumerate(counts):
        deletion[s, order[:count]] = 0
        insertion[s, order[:count]] = 1
    return deletion, insertion


def aopc(curve: np.ndarray, kind: str) -> float:
    """Area over the perturbation curve ``(steps + 1,)``: mean drop (deletion) or gain (insertion) from step 0."""
    curve = np.asarray(curve, dtype=np.float64)
    change = curve[0] - curve[1:] if kind == "deletion" else curve[1:] - curve[0]
    return float(change.mean())


def order_curves(audio_factorization, text_factorization, layout: FeatureLayout, predict_fn, orders, label: int,
                 steps: int, batch_size: int = 32) -> tuple[np.ndarray, float]:
    """``label``'s probability along the deletion and insertion curve of each feature order.

    Args:
        orders: feature orders, each ``(layout.num_features,)``.
        steps: chunks a curve moves the features in (at most ``layout.num_features``).

    Returns:
        Probabilities ``(len(orders), 2, steps + 1)`` (``[:, 0]`` deletion, ``[:, 1]`` insertion),
        scored in one streamed ``predict_masks`` call, and its wall time in seconds.
    """
    blocks = [m for order in orders for m in perturbation_masks(order, steps)]
    result = predict_masks(audio_factorization, text_factorization, np.concatenate(blocks), layout, predict_fn,
                           batch_size=batch_size, progress=False)
    return result.predictions[:, label].reshape(len(orders), 2, steps + 1), result.seconds


@dataclass
class FaithfulnessResult:
    """Curves and their AOPCs.

    Attributes:
        fractions: share of features moved after each step ``(steps + 1,)``.
        deletion, insertion: class probability along the explanation-order curves ``(steps + 1,)``.
        random_deletion, random_insertion: the random-order curves ``(draws, steps + 1)``.
        metrics: ``deletion_aopc``, ``random_deletion_aopc``, ``insertion_aopc``, ``random_insertion_aopc``.
        model_items: perturbed instances scored.
        seconds: wall time of composing and predicting.
    """

    fractions: np.ndarray
    deletion: np.ndarray
    insertion: np.ndarray
    random_deletion: np.ndarray
    random_insertion: np.ndarray
    metrics: dict
    model_items: int
    seconds: float

    def curves(self) -> dict:
        """JSON-ready curves."""
        return {"fraction_moved": self.fractions.tolist(), "deletion": self.deletion.tolist(),
                "insertion": self.insertion.tolist(), "random_deletion_mean": self.random_deletion.mean(0).tolist(),
                "random_insertion_mean": self.random_insertion.mean(0).tolist()}


def faithfulness(audio_factorization, text_factorization, layout: FeatureLayout, predict_fn, weights: np.ndarray,
                 label: int, steps: int = 10, draws: int = 5, seed: int = 0,
                 batch_size: int = 32) -> FaithfulnessResult:
    """Deletion and insertion curves of the explanation order and of ``draws`` random orders.

    Args:
        weights: surrogate weight per feature (mask column) for ``label``, ``(layout.num_features,)``.
        steps: chunks a curve moves the features in (``evaluation.faithfulness_steps``).
        draws: random orders averaged (``evaluation.faithfulness_random_draws``).
        seed: seed of the random orders.
    """
    n = layout.num_features
    if len(weights) != n:
        raise ValueError(f"weights has {len(weights)} entries, the layout {n} features")
    if steps < 1 or draws < 1:
        raise ConfigError(f"config keys evaluation.faithfulness_steps and evaluation.faithfulness_random_draws must "
                          f"be >= 1, got {steps} and {draws}")
    steps = min(steps, n)
    rng = np.random.default_rng(seed)
    orders = [explanation_order(weights)] + [rng.permutation(n) for _ in range(draws)]
    probs, seconds = order_curves(audio_factorization, text_factorization, layout, predict_fn, orders, label, steps,
                                  batch_size)
    deletion, insertion = probs[0, 0], probs[0, 1]
    metrics = {"deletion_aopc": aopc(deletion, "deletion"),
               "random_deletion_aopc": float(np.mean([aopc(c, "deletion") for c in probs[1:, 0]])),
               "insertion_aopc": aopc(insertion, "insertion"),
               "random_insertion_aopc": float(np.mean([aopc(c, "insertion") for c in probs[1:, 1]]))}
    log.info("faithfulness of label %d: %s (%d items, %.1f s)", label, {k: round(v, 4) for k, v in metrics.items()},
             probs.size, seconds)
    return FaithfulnessResult(fractions=np.rint(np.linspace(0, n, steps + 1)) / n, deletion=deletion,
                              insertion=insertion, random_deletion=probs[1:, 0], random_insertion=probs[1:, 1],
                              metrics=metrics, model_items=int(probs.size), seconds=seconds)
