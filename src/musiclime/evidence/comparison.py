"""LIME beside Kernel SHAP for one song: the two rankings side by side and how far they agree.

Both surrogates were fitted on the same scored masks (:mod:`musiclime.method.estimation.second_opinion`); the
explanation holds the chosen one, its metadata the other. Nothing here calls a model.
"""

from __future__ import annotations

import math

from ..method.explanation import MusicLIMEExplanation
from ..method.explanation_views import top_features, weight_vector
from ..method.estimation.rank_agreement import agreement
from ..method.estimation.second_opinion import alternative_view

#: Column titles of the surrogates.
SURROGATE_NAMES = {"lime": "LIME", "kernel_shap": "Kernel SHAP"}


def surrogate_comparison(explanation: MusicLIMEExplanation, label: int, num_features: int = 10) -> dict | None:
    """The LIME and Kernel SHAP rankings of ``label`` side by side, or ``None`` without a second opinion.

    Returns:
        ``{"columns": [LIME, Kernel SHAP] names (the explanation's own marked), "rows": per rank
        ``[{"label", "weight"} | None, ...]`` (LIME first), "jaccard_top5", "spearman_abs",
        "spearman_text", "num_features"}``: the top-5 overlap (1 = the same five features) and the Spearman
        correlation of ``|weight|`` over every feature (1 = the same order of importance).
    """
    second = alternative_view(explanation)
    if second is None or label not in second.local_exp:
        return None
    primary = explanation.metadata.get("surrogate", "lime")
    by_method = {primary: explanation, second.metadata["surrogate"]: second}
    ordered = [by_method["lime"], by_method["kernel_shap"]]
    tops = [top_features(e, label, num_features) for e in ordered]
    rows = [[top[r] if r < len(top) else None for top in tops] for r in range(max(len(t) for t in tops))]
    agree = agreement(*(weight_vector(e, label) for e in ordered), k=5)
    columns = [SURROGATE_NAMES[m] + (" (this explanation)" if m == primary else "") for m in ("lime", "kernel_shap")]
    return {"columns": columns, "rows": rows, "jaccard_top5": agree["jaccard_top5"],
            "spearman_abs": agree["spearman_abs"],
            "spearman_text": "-" if math.isnan(agree["spearman_abs"]) else f"{agree['spearman_abs']:.2f}",
            "num_features": len(explanation.features)}
