"""MusicLIME: explanations of multimodal (audio + lyrics) music classifiers.

The public API keeps the names of the original explainer (see ``DESIGN.md`` section 4).
"""

from .audio import load_audio
from .errors import (AudioError, ConfigError, FactorizationError, LyricsError, MusicLimeError, PredictionError,
                     WeightsUnavailableError)
from .explainer import MusicLIMEExplainer
from .explanation import MusicLIMEExplanation, load_explanation
from .factorization import OpenUnmixFactorization, StemFactorization, TimeOnlyFactorization
from .lyrics import LineIndexedString, WordIndexedString

__version__ = "0.1.0"

__all__ = [
    "AudioError", "ConfigError", "FactorizationError", "LineIndexedString", "LyricsError", "MusicLIMEExplainer",
    "MusicLIMEExplanation", "MusicLimeError", "OpenUnmixFactorization", "PredictionError", "StemFactorization",
    "TimeOnlyFactorization", "WeightsUnavailableError", "WordIndexedString", "load_audio", "load_explanation",
]
