"""What a lyric line is in its song: the groups that let lyrics be aggregated across songs.

A lyric line is song-specific: "the porch light at Fifth Street" exists in one song, so a global bar
for it is one song's weight. What does recur across songs is a line's *role*. Each lyric feature of
the ``line`` and ``distinct_line`` units (and each ``section``) gets four groups:

* ``lyric section``: the section it is sung in, from its song's tags (``[Chorus]``, ``[Verse 2]``,
  ``[Pre-Chorus]``: ``chorus``, ``verse``, ``pre-chorus``; lines before the first tag: ``untagged``);
  in a song without tags, ``repeated line`` (sung more than once, chorus-like) or ``single line``;
* ``lyric repetition``: how often the song sings it: ``sung once``, ``sung twice``, ``sung 3+ times``;
* ``lyric position``: where it is first sung, by its first line's place among the song's lines:
  ``opening third``, ``middle third``, ``closing third``;
* ``lyric recurrence``: ``in other songs too`` when another song of the set sings the same line
  (compared as :func:`~musiclime.factorization.lyrics.normalized_line` compares), else ``this song only``.

A role's value in one song is the mean weight of its lines (the sum over the song's lyric features in
that role divided by their number, :func:`musiclime.evidence.aggregation.per_line_means`), so a role bar
compares with one audio component's. Words (``explain.lyrics_unit=word``) are already shared across
songs and get no role. The tags come
from the song's lyrics file (``song_info["lyrics"]``, read relative to the working directory, as a run
writes it); when it cannot be read, the song counts as untagged.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Mapping, Sequence

from ..factorization.lyrics import lyric_lines, normalized_line

log = logging.getLogger(__name__)

Key = tuple[str, str]
#: The group kinds of lyric roles, in the order the figures show them.
ROLE_KINDS = ("lyric section", "lyric repetition", "lyric position", "lyric recurrence")
#: Units whose features are lines or groups of lines (words have no role).
ROLE_UNITS = ("line", "distinct_line", "section")
_TAG = re.compile(r"^\s*\[([^\]]*)\]\s*$")
#: Tag words mapped to a role name (the first match in a tag wins; others: ``other section``).
_SECTION_NAMES = (("pre-chorus", "pre-chorus"), ("prechorus", "pre-chorus"), ("post-chorus", "post-chorus"),
                  ("chorus", "chorus"), ("refrain", "chorus"), ("hook", "hook"), ("verse", "verse"),
                  ("bridge", "bridge"), ("intro", "intro"), ("outro", "outro"), ("interlude", "interlude"),
                  ("break", "interlude"), ("instrumental", "interlude"))


def section_role(tag: str) -> str:
    """``"Verse 2"`` -> ``verse``, ``"Pre-Chorus"`` -> ``pre-chorus``, ``"Chorus x2"`` -> ``chorus``."""
    text = re.sub(r"\s+", "-", tag.strip().casefold())
    for word, role in _SECTION_NAMES:
        if word in text:
            return role
    return "other section"


def line_sections(raw_lyrics: str) -> list[str] | None:
    """The section role of each cleaned line (:func:`~musiclime.factorization.lyrics.lyric_lines` order),
    or None when the lyrics carry no ``[...]`` tag."""
    raw_lines = (raw_lyrics or "").splitlines()
    if not any(_TAG.match(line) for line in raw_lines):
        return None
    roles, current = [], "untagged"
    for line in raw_lines:
        tag = _TAG.match(line)
        if tag:
            current = section_role(tag.group(1))
        else:
            roles += [current] * len(lyric_lines(line))
    return roles


@lru_cache(maxsize=4096)
def _sections_of_file(path: str) -> tuple[str, ...] | None:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        log.debug("lyrics %s not readable for section tags (%s): counted as untagged", path, error)
        return None
    sections = line_sections(text)
    return None if sections is None else tuple(sections)


def describe_role(kind: str, group: str) -> str:
    """A role group in words: ``chorus lines``, ``lines sung 3+ times``, ``lines in the opening third``."""
    if kind == "lyric section":
        return f"{group} lines" if group not in ("repeated line", "single line") else f"{group}s (untagged songs)"
    if kind == "lyric repetition":
        return f"lines {group}"
    if kind == "lyric position":
        return f"lines in the {group}"
    if kind == "lyric recurrence":
        return "lines other songs sing too" if group == "in other songs too" else "lines of this song only"
    return f"{kind}: {group}"


def repetition_group(repeats: int) -> str:
    return "sung once" if repeats <= 1 else "sung twice" if repeats == 2 else "sung 3+ times"


def position_group(first_line: int, n_lines: int) -> str:
    """The third of the song (by line) where line ``first_line`` (0-based) of ``n_lines`` falls."""
    third = min(2, 3 * first_line // max(n_lines, 1))
    return ("opening third", "middle third", "closing third")[third]


def _lyric_lines_of(features: Sequence[Mapping], unit: str) -> tuple[dict[int, list[int]], dict[int, list[str]], int]:
    """Per lyric feature position in ``features``: its lines' positions and texts; and the song's line count."""
    positions, texts = {}, {}
    for i, feature in enumerate(features):
        if feature["type"] != "lyrics":
            continue
        if unit == "line":
            positions[i], texts[i] = [int(feature["index"])], [str(feature["feature"])]
        else:
            positions[i] = [int(p) for p in feature.get("occurrences", [feature["index"]])]
            texts[i] = [str(t) for t in feature.get("texts", [feature["feature"]])]
    n_lines = max((p + 1 for where in positions.values() for p in where), default=0)
    return positions, texts, n_lines


def song_line_keys(features: Sequence[Mapping], unit: str) -> set[str]:
    """The song's lines as compared across songs (:func:`normalized_line`); empty for the word unit."""
    if unit not in ROLE_UNITS:
        return set()
    _, texts, _ = _lyric_lines_of(features, unit)
    return {normalized_line(t) for lines in texts.values() for t in lines}


def role_groups(features: Sequence[Mapping], unit: str, lyrics_path: str | None = None,
                shared_lines: Iterable[str] | None = None) -> dict[int, list[Key]]:
    """The role groups (module docstring) of each lyric feature, keyed by its position in ``features``.

    Args:
        features: an explanation's feature records (lyric records with ``index``; the grouped units
            also ``occurrences``, ``texts`` and ``repeats``).
        unit: the explanation's lyric unit; ``word`` gives no groups.
        lyrics_path: the song's lyrics file, for its section tags.
        shared_lines: the normalised lines sung by more than one song of the set; None leaves out
            the ``lyric recurrence`` group.
    """
    if unit not in ROLE_UNITS:
        return {}
    positions, texts, n_lines = _lyric_lines_of(features, unit)
    sections = _sections_of_file(str(lyrics_path)) if lyrics_path else None
    if sections is not None and len(sections) != n_lines:
        sections = None
    counts: dict[str, int] = {}
    if unit == "line":
        for lines in texts.values():
            counts[normalized_line(lines[0])] = counts.get(normalized_line(lines[0]), 0) + 1
    shared = None if shared_lines is None else set(shared_lines)
    groups = {}
    for i, where in positions.items():
        feature = features[i]
        repeats = counts[normalized_line(texts[i][0])] if unit == "line" else int(feature.get("repeats", len(where)))
        if unit == "section":
            section = section_role(str(feature["feature"])) if sections is not None else (
                "repeated line" if repeats > 1 else "single line")
        elif sections is not None:
            section = sections[where[0]]
        else:
            section = "repeated line" if repeats > 1 else "single line"
        keys = [("lyric section", section), ("lyric repetition", repetition_group(repeats)),
                ("lyric position", position_group(min(where), n_lines))]
        if shared is not None:
            recurs = any(normalized_line(t) in shared for t in texts[i])
            keys.append(("lyric recurrence", "in other songs too" if recurs else "this song only"))
        groups[i] = keys
    return groups
