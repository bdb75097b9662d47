"""Audio factorizations: components = sources x temporal segments."""

from .base import Factorization, segment_boundaries
from .openunmix import OpenUnmixFactorization
from .stems import StemFactorization
from .time_only import TimeOnlyFactorization

__all__ = ["Factorization", "OpenUnmixFactorization", "StemFactorization", "TimeOnlyFactorization",
           "segment_boundaries"]
