"""How far to trust an explanation: stability over mask seeds, faithfulness curves, model-randomization sanity."""

from .faithfulness import FaithfulnessResult, aopc, explanation_order, faithfulness, perturbation_masks
from .randomization import randomization_by_modality, randomization_spearman
from .stability import jaccard, stability
from .verdicts import Verdict, verdicts

__all__ = ["FaithfulnessResult", "aopc", "explanation_order", "faithfulness", "perturbation_masks",
           "randomization_by_modality", "randomization_spearman", "jaccard", "stability", "Verdict",
           "verdicts"]
