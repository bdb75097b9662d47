"""Shared fixtures: synthesized audio and stems, built fresh for every test session."""

from __future__ import annotations

import numpy as np
import pytest

from musiclime import LineIndexedString, StemFactorization

SOURCES = ("vocals", "drums", "bass", "other")
LYRICS = """[Verse 1]
first line of the verse
second line with words

[Chorus]
sing the chorus loud
(x2)
last line of the song
"""


def noise_stems(sample_rate: int, seconds: float, seed: int = 0) -> dict[str, np.ndarray]:
    """Independent noise stems ``{name: (L,) float32}``: linearly independent in every segment."""
    rng = np.random.default_rng(seed)
    length = int(sample_rate * seconds)
    return {name: (0.1 * rng.standard_normal(length)).astype(np.float32) for name in SOURCES}


@pytest.fixture
def stems():
    return noise_stems(8000, 2.0)


@pytest.fixture
def factorization(stems):
    return StemFactorization(stems, sample_rate=8000, temporal_segments=4)


@pytest.fixture
def lyrics_text():
    return LYRICS


@pytest.fixture
def text_factorization():
    return LineIndexedString(LYRICS)
