"""What goes into a model and what must come out: lyrics strings of mask rows, probability rows, and
the result of scoring a mask matrix with what it cost."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...common.errors import PredictionError

#: Tolerance on probability rows: entries in [-tol, 1 + tol], sums within tol of 1.
PROBABILITY_TOLERANCE = 1e-3


@dataclass
class PredictionResult:
    """Model outputs on every mask row, and what they cost.

    Attributes:
        predictions: float64 ``(num_samples, n_classes)``; row 0 scores the reconstruction.
        n_calls: model invocations (``predict_fn``, or encoder and ``fuse`` calls).
        seconds: wall time of composing and predicting.
        compositions: perturbed waveforms composed (one per distinct audio mask, or per row).
        model_items: items given to a plain ``predict_fn`` (0 for a late-fusion model).
        audio_encodings, lyric_encodings, fused_rows: a late-fusion model's distinct audio and
            lyrics inputs encoded, and rows fused (0 for a plain ``predict_fn``).
    """

    predictions: np.ndarray
    n_calls: int
    seconds: float
    compositions: int = 0
    model_items: int = 0
    audio_encodings: int = 0
    lyric_encodings: int = 0
    fused_rows: int = 0

    def costs(self) -> dict[str, int]:
        """The call accounting, as recorded in an explanation's metadata."""
        return {name: int(getattr(self, name)) for name in COST_FIELDS}

    def with_costs_of(self, other: "PredictionResult") -> "PredictionResult":
        """These predictions, with ``other``'s calls, time and costs added (a row scored apart, such as
        the all-off row of :func:`musiclime.method.scoring.inference.predict_all_off`)."""
        counts = {name: getattr(self, name) + getattr(other, name) for name in ("n_calls", "seconds", *COST_FIELDS)}
        return PredictionResult(self.predictions, **counts)


#: The call-accounting fields of :class:`PredictionResult` (explanation metadata, MLflow metrics).
COST_FIELDS = ("compositions", "model_items", "audio_encodings", "lyric_encodings", "fused_rows")


def validate_probabilities(output, batch_size: int, where: str, n_classes: int | None = None) -> np.ndarray:
    """Check that ``output`` is a ``(batch_size, n_classes)`` array of probability rows.

    Raises:
        PredictionError: naming ``where`` (e.g. the batch and its sample rows) and the problem.
    """
    if hasattr(output, "detach"):  # a torch tensor, possibly on a GPU
        output = output.detach().cpu().numpy()
    try:
        probs = np.asarray(output, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise PredictionError(f"predict_fn returned a non-numeric result for {where}: {exc}") from exc
    if probs.ndim != 2 or probs.shape[0] != batch_size or probs.shape[1] < 2:
        raise PredictionError(
            f"predict_fn returned shape {probs.shape} for {where}; expected ({batch_size}, n_classes >= 2)"
        )
    if n_classes is not None and probs.shape[1] != n_classes:
        raise PredictionError(f"predict_fn returned {probs.shape[1]} classes for {where}, earlier {n_classes}")
    if not np.all(np.isfinite(probs)):
        raise PredictionError(f"predict_fn returned NaN/inf for {where}")
    tol = PROBABILITY_TOLERANCE
    bad = (probs.min(axis=1) < -tol) | (probs.max(axis=1) > 1 + tol) | (np.abs(probs.sum(axis=1) - 1) > tol)
    if bad.any():
        row = int(np.argmax(bad))
        raise PredictionError(
            f"predict_fn returned rows that are not probabilities for {where} (row {row}: {probs[row].tolist()}); "
            f"apply a softmax"
        )
    return probs


def texts_for(text_factorization, text_masks: np.ndarray) -> list[str]:
    """Lyrics with the masked-out features removed, one string per row of ``(batch, n_text)``."""
    return [text_factorization.inverse_removing(np.flatnonzero(row == 0)) for row in text_masks]


def take_rows(batch, index: np.ndarray):
    """Rows ``index`` of ``batch`` ``(n, ...)``: a NumPy array or a torch tensor (gathered on its device)."""
    if hasattr(batch, "detach"):
        import torch

        return batch[torch.as_tensor(index, device=batch.device)]
    return batch[index]
