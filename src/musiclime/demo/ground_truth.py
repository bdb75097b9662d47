"""Where a demo song carries its style's evidence: ``ground_truth.json`` beside its stems.

Format 1 (every key always present)::

    {"format": 1, "style": "ai", "label": 0,
     "audio_cues": [{"stem": "vocals", "start_s": 4.0, "end_s": 6.0, "cue": "codec artifact"}],
     "temporal_segments": 10,
     "components": ["vocals_T2"],
     "lyric_lines": ["Oh yeah we shine tonight", ...]}

* ``components``: ``<stem>_T<k>`` over ``temporal_segments`` equal segments of the song
  (:func:`musiclime.factorization.base.segment_boundaries`) that carry the style's positive audio cues;
  ``audio_cues`` names the same (stem, segment) pairs in seconds, one entry per pair, so another
  segmentation can be mapped onto them.
* ai songs: the codec artifact's stem in its segments (:mod:`.artifacts`). Their mechanical vocals
  and drums are evidence only by the *absence* of human cues and are not listed.
* human songs: the vocals (scoops, vibrato, drift) and the drums (timing jitter, velocities, ghost
  notes) in every segment where the stem actually sounds: its energy there is at least
  :data:`SOUNDING_SHARE` of the stem's mean energy per segment.
* ``lyric_lines``: distinct lyric lines (text exactly as in ``lyrics.txt``, stripped, in order of
  first appearance) carrying the style's lyric cues. ai: lines repeated verbatim in the song, or
  holding a filler word or chant (``oh``, ``yeah``, ``la la la``, ...); the other ai lines still use
  the stock vocabulary, a weaker cue. human: every line (all are narrative and none repeats inside
  a section).
"""

from __future__ import annotations

import re
from collections import Counter

import numpy as np

from ..factorization.base import segment_boundaries
from ..factorization.lyrics import lyric_lines
from .artifacts import artifact_cues
from .lyrics_gen import GENERIC_WORDS
from .synthesis import DemoSong

GROUND_TRUTH_FORMAT = 1
#: The demo explains with this many equal segments (``conf/explain/default.yaml``).
TEMPORAL_SEGMENTS = 10
#: A human stem sounds in a segment when its energy there is at least this share of its mean per segment.
SOUNDING_SHARE = 0.05
HUMAN_CUES = {"vocals": "expressive vocals", "drums": "human drum feel"}
_FILLER = re.compile(r"\b(" + "|".join(sorted({w for key in ("filler", "chant") for phrase in GENERIC_WORDS[key]
                                               for w in phrase.split()})) + r")\b", re.IGNORECASE)


def ground_truth(song: DemoSong) -> dict:
    """The JSON-ready ground truth of ``song`` (format above)."""
    if song.artifact is not None:
        cues = artifact_cues(song.artifact)
        segments = song.artifact.temporal_segments
        components = [f"{song.artifact.stem}_T{k}" for k in song.artifact.segments]
    else:
        cues, components, segments = human_cues(song)
    return {"format": GROUND_TRUTH_FORMAT, "style": song.style, "label": song.label, "audio_cues": cues,
            "temporal_segments": segments, "components": components, "lyric_lines": cue_lines(song)}


def human_cues(song: DemoSong, temporal_segments: int = TEMPORAL_SEGMENTS) -> tuple[list[dict], list[str], int]:
    """Audio cues, component names and segmentation of a human song: vocals and drums where they sound."""
    edges = segment_boundaries(song.stems["vocals"].shape[-1], temporal_segments)
    cues, components = [], []
    for stem, cue in HUMAN_CUES.items():
        for k in sounding_segments(song.stems[stem], edges):
            cues.append({"stem": stem, "start_s": float(edges[k]) / song.sample_rate,
                         "end_s": float(edges[k + 1]) / song.sample_rate, "cue": cue})
            components.append(f"{stem}_T{k}")
    return cues, components, temporal_segments


def sounding_segments(stem: np.ndarray, edges: np.ndarray) -> list[int]:
    """Segments ``k`` where ``stem`` ``(channels, nb_timesteps)`` has at least ``SOUNDING_SHARE`` of its mean energy."""
    energy = np.square(stem.astype(np.float64)).sum(axis=0)
    per_segment = np.array([energy[edges[k]:edges[k + 1]].sum() for k in range(len(edges) - 1)])
    mean = per_segment.mean()
    return [k for k in range(len(per_segment)) if mean > 0 and per_segment[k] >= SOUNDING_SHARE * mean]


def cue_lines(song: DemoSong) -> list[str]:
    """Distinct lyric lines carrying the style's lyric cues, in order of first appearance."""
    lines = lyric_lines(song.lyrics)
    distinct = list(dict.fromkeys(lines))
    if song.style != "ai":
        return distinct
    counts = Counter(lines)
    return [line for line in distinct if counts[line] > 1 or _FILLER.search(line)]
