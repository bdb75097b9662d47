"""MusicLIME: explanations of multimodal (audio + lyrics) music classifiers.

The public API keeps the names of the original explainer (see ``DESIGN.md`` section 4).
Names are imported on first use (PEP 562), so ``import musiclime`` stays cheap and a workflow
stage pays only for the modules it uses (``python -X importtime`` shows the cost).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .common.lazy import lazy_getattr

__version__ = "0.1.0"

#: Public name -> the module (relative to this package) that defines it.
_EXPORTS = {
    "load_audio": ".common.audio",
    "AudioError": ".common.errors", "ConfigError": ".common.errors", "FactorizationError": ".common.errors",
    "LyricsError": ".common.errors", "MusicLimeError": ".common.errors", "PredictionError": ".common.errors",
    "WeightsUnavailableError": ".common.errors",
    "MusicLIMEExplainer": ".method.explainer",
    "MusicLIMEExplanation": ".method.explanation", "load_explanation": ".method.explanation",
    "OpenUnmixFactorization": ".factorization", "StemFactorization": ".factorization",
    "TimeOnlyFactorization": ".factorization",
    "LineIndexedString": ".factorization.lyrics", "WordIndexedString": ".factorization.lyrics",
    "DistinctLineIndexedString": ".factorization.lyrics", "SectionIndexedString": ".factorization.lyrics",
}

__all__ = sorted(_EXPORTS)

__getattr__ = lazy_getattr(__name__, _EXPORTS, globals())


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


if TYPE_CHECKING:  # static analysers and IDEs see the eager imports
    from .common.audio import load_audio
    from .common.errors import (AudioError, ConfigError, FactorizationError, LyricsError, MusicLimeError,
                                PredictionError, WeightsUnavailableError)
    from .method.explainer import MusicLIMEExplainer
    from .method.explanation import MusicLIMEExplanation, load_explanation
    from .factorization import OpenUnmixFactorization, StemFactorization, TimeOnlyFactorization
    from .factorization.lyrics import (DistinctLineIndexedString, LineIndexedString, SectionIndexedString,
                                       WordIndexedString)
