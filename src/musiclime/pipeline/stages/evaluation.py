"""Stage ``evaluate``: trust metrics of one explanation (stability, faithfulness, randomization sanity).

A heavy stage (faithfulness calls the model), so it runs as a job of its own; the comparison
explanations (other mask seeds, the randomized model) are ordinary workflow artifacts.
"""

from __future__ import annotations

from pathlib import Path

from ...common.artifacts import write_config
from ..evidence_stages import evaluate_song


def evaluate(explanation_json: str | Path, stems_npz: str | Path, seed_explanations: list[str],
             randomized_explanation: str | None, model_slice: dict, evaluation: dict, out_json: str | Path,
             out_config: str | Path) -> Path:
    """Write ``evaluation.json`` (and its resolved config) for one explanation."""
    evaluate_song(explanation_json, stems_npz, model_slice, evaluation, out_json,
                  seed_explanations=list(seed_explanations), randomized_explanation=randomized_explanation)
    write_config(out_config, {"explanation": str(explanation_json), "model": model_slice, "evaluation": evaluation})
    return Path(out_json)
