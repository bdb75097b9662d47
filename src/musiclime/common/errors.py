"""Exceptions raised by musiclime.

Every error a user can cause derives from :class:`MusicLimeError`, so scripts can catch one type.
Messages name the file, song or config key involved.
"""


class MusicLimeError(Exception):
    """Base class of every error musiclime raises on bad input."""


class AudioError(MusicLimeError):
    """An audio file is missing, empty, truncated, undecodable or holds non-finite samples."""


class LyricsError(MusicLimeError):
    """Lyrics are missing or unusable for the requested modality."""


class FactorizationError(MusicLimeError):
    """Audio components cannot be built (bad stems, bad segment count, mismatched lengths)."""


class WeightsUnavailableError(MusicLimeError):
    """Separation weights are neither on disk nor downloadable (offline machine)."""


class PredictionError(MusicLimeError):
    """A ``predict_fn`` returned something that is not a batch of class probabilities."""


class ConfigError(MusicLimeError):
    """A configuration value is out of range or of the wrong type; the message names the key."""
