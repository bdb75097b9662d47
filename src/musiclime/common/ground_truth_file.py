"""A song's ground truth on disk: which audio components and lyric lines carry its known evidence.

A song with known evidence (the demo's songs: cues planted in a stem and in some lyric lines) may
carry ``ground_truth.json``::

    {"format": 1, "style": "ai", "label": 0,
     "audio_cues": [{"stem": "vocals", "start_s": 4.0, "end_s": 6.0, "cue": "codec artifact"}],
     "temporal_segments": 10,
     "components": ["vocals_T2"],
     "lyric_lines": ["a lyric line exactly as lyrics.txt has it"]}

``components`` name the truth for ``temporal_segments`` equal segments (``<stem>_T<k>``);
``audio_cues`` say the same in seconds, so explanations with other segment counts can be scored;
``lyric_lines`` are the lines that carry the song's lyric cues. The file comes from the sample
sheet's optional ``ground_truth`` column, else from ``ground_truth.json`` beside the song's audio
(:func:`ground_truth_path`). Reading it checks every key and names the file and the key when one is wrong.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import MusicLimeError

#: The file name looked up beside a song's audio when the sheet names none.
GROUND_TRUTH_NAME = "ground_truth.json"
#: Formats this reader understands.
FORMATS = (1,)
_COMPONENT = re.compile(r"^(?P<stem>.+)_T(?P<segment>\d+)$")


class GroundTruthError(MusicLimeError):
    """A ground-truth file is missing, not JSON, or has a key of the wrong kind; the message names both."""


@dataclass(frozen=True)
class AudioCue:
    """Known evidence in one stem between two times (seconds from the song's start)."""

    stem: str
    start_s: float
    end_s: float
    cue: str = ""


@dataclass(frozen=True)
class GroundTruth:
    """The known evidence of one song.

    Attributes:
        path: the file it was read from.
        label: the song's class (0 = AI-Generated, 1 = Human-Composed), ``None`` when not given.
        style: the demo style that made the song (free text), ``None`` when not given.
        audio_cues: :class:`AudioCue` per piece of audio evidence.
        temporal_segments: the segment count ``components`` are named for.
        components: truth component names ``<stem>_T<k>``, ``0 <= k < temporal_segments``.
        lyric_lines: lyric lines (their text) that carry the song's lyric evidence.
    """

    path: Path
    label: int | None
    style: str | None
    audio_cues: tuple[AudioCue, ...]
    temporal_segments: int
    components: tuple[str, ...]
    lyric_lines: tuple[str, ...]


def ground_truth_path(named: str | os.PathLike | None, audio: str | os.PathLike | None) -> Path | None:
    """Where a song's ground truth is: the file ``named`` (the sheet's column) when given, else
    :data:`GROUND_TRUTH_NAME` in the audio file's folder when it exists, else ``None``."""
    if named:
        return Path(named)
    if audio:
        beside = Path(audio).parent / GROUND_TRUTH_NAME
        if beside.is_file():
            return beside
    return None


def read_ground_truth(path: str | os.PathLike) -> GroundTruth:
    """Read and check a ground-truth file.

    Raises:
        GroundTruthError: the file is missing, unreadable, not JSON, or a key is missing or of the
            wrong kind; the message names the file and the key.
    """
    path = Path(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise GroundTruthError(f"ground truth file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise GroundTruthError(f"ground truth file cannot be read: {path} ({exc})") from None
    except ValueError as exc:
        raise GroundTruthError(f"ground truth file is not JSON: {path} ({exc})") from None
    if not isinstance(document, dict):
        raise GroundTruthError(f"ground truth file {path}: must hold a JSON object, got {type(document).__name__}")

    def fail(key: str, why: str):
        raise GroundTruthError(f"ground truth file {path}, key {key!r}: {why}")

    if document.get("format") not in FORMATS:
        fail("format", f"must be one of {FORMATS}, got {document.get('format')!r}")
    label = document.get("label")
    if label is not None and (isinstance(label, bool) or label not in (0, 1)):
        fail("label", f"must be 0, 1 or absent, got {label!r}")
    style = document.get("style")
    if style is not None and not isinstance(style, str):
        fail("style", f"must be text, got {style!r}")
    segments = document.get("temporal_segments")
    if isinstance(segments, bool) or not isinstance(segments, int) or segments < 1:
        fail("temporal_segments", f"must be a whole number >= 1, got {segments!r}")
    components = _strings(document.get("components", []), "components", fail)
    for name in components:
        match = _COMPONENT.match(name)
        if match is None or int(match["segment"]) >= segments:
            fail("components", f"{name!r} is not <stem>_T<k> with 0 <= k < temporal_segments={segments}")
    lines = _strings(document.get("lyric_lines", []), "lyric_lines", fail)
    raw_cues = document.get("audio_cues", [])
    if not isinstance(raw_cues, list):
        fail("audio_cues", f"must be a list, got {type(raw_cues).__name__}")
    cues = []
    for i, cue in enumerate(raw_cues):
        key = f"audio_cues[{i}]"
        if not isinstance(cue, dict) or not isinstance(cue.get("stem"), str):
            fail(key, f"must be an object with a 'stem' name, got {cue!r}")
        start, end = cue.get("start_s"), cue.get("end_s")
        if not all(_is_number(v) for v in (start, end)) or not 0 <= start < end:
            fail(key, f"needs numbers 0 <= start_s < end_s, got start_s={start!r}, end_s={end!r}")
        cues.append(AudioCue(stem=cue["stem"], start_s=float(start), end_s=float(end), cue=str(cue.get("cue", ""))))
    return GroundTruth(path=path, label=label, style=style, audio_cues=tuple(cues), temporal_segments=segments,
                       components=tuple(components), lyric_lines=tuple(lines))


def ground_truth_problem(path: str | os.PathLike) -> str | None:
    """Why the ground-truth file at ``path`` cannot be used, or ``None`` (for the song checks)."""
    try:
        read_ground_truth(path)
    except GroundTruthError as exc:
        return str(exc)
    return None


def _strings(value, key: str, fail) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        fail(key, f"must be a list of non-empty strings, got {value!r}")
    return list(value)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
