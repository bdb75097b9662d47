"""Lyrics factorized into removable features: lines (the seed's behaviour), distinct lines, sections or words.

Every class shares the seed's interface: ``num_words()`` features, ``word(i)`` the text of feature
``i``, ``inverse_removing(indices)`` the lyrics with those features removed.

Songs repeat themselves: a chorus line sung eight times is eight ``line`` features of equal weight
for any model that reads lyrics as a bag of words, and which copy makes a top-5 is a coin toss.
``distinct_line`` makes each distinct line (compared without case, spacing and punctuation) one
feature that removes all its copies; ``section`` does the same for ``[Chorus]``-style sections.
The grouped units record where each feature occurs (:meth:`feature_details`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np

from ..common.errors import MusicLimeError

#: A line made only of bracketed metadata such as ``[Chorus]`` or ``(x2)``.
_METADATA_LINE = re.compile(r"^\s*(\[[^\]]*\]|\([^)]*\))\s*$")
#: A word: letters/digits with inner apostrophes (``don't``), the unit of the bag-of-words variant.
_WORD = re.compile(r"\w+(?:'\w+)*")


def lyric_lines(lyrics: str) -> list[str]:
    """Lines of ``lyrics``, stripped, without empty lines and ``[...]``/``(...)`` metadata lines."""
    lines = (line.strip() for line in (lyrics or "").splitlines())
    return [line for line in lines if line and not _METADATA_LINE.match(line)]


class _IndexedLyrics:
    """Shared reading methods: features are the strings in ``self._features``."""

    unit = ""
    _features: list[str]

    def num_words(self) -> int:
        """Number of features (lines or distinct words)."""
        return len(self._features)

    def word(self, index: int) -> str:
        """Text of feature ``index``."""
        return self._features[index]

    def feature_names(self) -> list[str]:
        """Text of every feature, in feature order."""
        return list(self._features)

    def inverse_removing(self, indices_to_remove: Iterable[int]) -> str:
        raise NotImplementedError

    def original(self) -> str:
        """The cleaned lyrics with every feature present."""
        return self.inverse_removing(())

    def feature_details(self, index: int) -> dict:
        """Extra fields of feature ``index``'s record (grouped units: ``count`` and ``occurrences``)."""
        return {}


class LineIndexedString(_IndexedLyrics):
    """Lyrics whose features are lines.

    Args:
        lyrics: raw lyrics text; lines are stripped, empty and metadata lines dropped.
    """

    unit = "line"

    def __init__(self, lyrics: str):
        self.raw = lyrics or ""
        self.lines = lyric_lines(self.raw)
        self._features = self.lines

    def inverse_removing(self, indices_to_remove: Iterable[int]) -> str:
        """The lyrics without the given lines, kept lines joined by newlines."""
        removed = {int(i) for i in np.asarray(list(indices_to_remove), dtype=int).ravel()}
        return "\n".join(line for i, line in enumerate(self.lines) if i not in removed)


def normalized_line(line: str) -> str:
    """``line`` compared as a reader hears it: lower case, words only (punctuation and spacing dropped).

    A line with no word characters (``"!!"``) is compared by its stripped text.
    """
    words = _WORD.findall(line.casefold())
    return " ".join(words) if words else line.strip()


class _GroupedLines(_IndexedLyrics):
    """Features that are groups of the cleaned lyric lines; removing one removes all its lines.

    Subclasses set ``self.lines`` (cleaned lines, in order), ``self.line_feature`` (the feature of each
    line, ``(len(lines),)``) and ``self._features`` (a name per feature).
    """

    lines: list[str]
    line_feature: list[int]

    def occurrences(self, index: int) -> list[int]:
        """Positions (0-based, in the cleaned lines) of the lines feature ``index`` removes."""
        return [i for i, feature in enumerate(self.line_feature) if feature == index]

    def repeats(self, index: int) -> int:
        """How many times the song sings feature ``index`` (its lines, for a distinct line)."""
        return len(self.occurrences(index))

    def feature_details(self, index: int) -> dict:
        """``count`` (lines the feature removes), ``occurrences`` (their 0-based line positions),
        ``texts`` (those lines' text, aligned with ``occurrences``) and ``repeats`` (times it is sung)."""
        where = self.occurrences(index)
        return {"count": len(where), "occurrences": where, "texts": [self.lines[i] for i in where],
                "repeats": self.repeats(index)}

    def inverse_removing(self, indices_to_remove: Iterable[int]) -> str:
        """The lyrics without every line of the given features, kept lines joined by newlines."""
        removed = {int(i) for i in np.asarray(list(indices_to_remove), dtype=int).ravel()}
        return "\n".join(line for line, feature in zip(self.lines, self.line_feature) if feature not in removed)


class DistinctLineIndexedString(_GroupedLines):
    """Lyrics whose features are distinct lines: the copies of a repeated line are one feature.

    Lines are the same feature when :func:`normalized_line` makes them equal (``"La la, la"`` and
    ``"la la la"``); a feature is named after its first copy's text.

    Args:
        lyrics: raw lyrics text; lines are stripped, empty and metadata lines dropped.
    """

    unit = "distinct_line"

    def __init__(self, lyrics: str):
        self.raw = lyrics or ""
        self.lines = lyric_lines(self.raw)
        index_of: dict[str, int] = {}
        self._features = []
        self.line_feature = []
        for line in self.lines:
            key = normalized_line(line)
            if key not in index_of:
                index_of[key] = len(self._features)
                self._features.append(line)
            self.line_feature.append(index_of[key])


#: A ``[Section name]`` line; the name keys the section (``[Chorus]`` sung three times is one feature).
_SECTION_TAG = re.compile(r"^\s*\[([^\]]*)\]\s*$")


class SectionIndexedString(_GroupedLines):
    """Lyrics whose features are sections marked by ``[Verse 1]``, ``[Chorus]``, ... lines.

    Sections with the same tag (compared as :func:`normalized_line` compares lines) are one feature
    that removes every copy. Lines before the first tag form a section named ``(untagged)``. Lyrics
    without any tag are split into stanzas at blank lines instead, identical stanzas being one feature.

    Args:
        lyrics: raw lyrics text.
    """

    unit = "section"

    def __init__(self, lyrics: str):
        self.raw = lyrics or ""
        tagged = any(_SECTION_TAG.match(line) for line in self.raw.splitlines())
        blocks = _tagged_blocks(self.raw) if tagged else _stanzas(self.raw)
        index_of: dict[str, int] = {}
        self._features, self.lines, self.line_feature, self._repeats = [], [], [], []
        for name, lines in blocks:
            key = normalized_line(name) if tagged else "\n".join(normalized_line(line) for line in lines)
            if key not in index_of:
                index_of[key] = len(self._features)
                self._features.append(name)
                self._repeats.append(0)
            self._repeats[index_of[key]] += 1
            self.lines += lines
            self.line_feature += [index_of[key]] * len(lines)

    def repeats(self, index: int) -> int:
        """How many times section ``index`` occurs."""
        return self._repeats[index]


def _tagged_blocks(raw: str) -> list[tuple[str, list[str]]]:
    """``(tag, cleaned lines)`` per tagged section, in order; sections without lines are dropped."""
    blocks: list[tuple[str, list[str]]] = [("(untagged)", [])]
    for line in raw.splitlines():
        tag = _SECTION_TAG.match(line)
        if tag:
            blocks.append((tag.group(1).strip() or "(untitled)", []))
        else:
            blocks[-1][1].extend(lyric_lines(line))
    return [(name, lines) for name, lines in blocks if lines]


def _stanzas(raw: str) -> list[tuple[str, list[str]]]:
    """``("Stanza n", cleaned lines)`` per blank-line separated block; a stanza is named by its first line."""
    blocks = [lyric_lines(block) for block in re.split(r"\n\s*\n", raw or "")]
    return [(lines[0], lines) for lines in blocks if lines]


class WordIndexedString(_IndexedLyrics):
    """Lyrics whose features are distinct words (bag of words, as LIME's text explainer in the MusicLIME paper).

    Removing feature ``i`` removes every occurrence of that word (case-sensitive, as LIME's) and keeps
    the line structure and punctuation of the rest. Unlike LIME's split at every non-word character, an
    inner apostrophe stays in its word (``don't`` is one word, not ``don`` and ``t``).

    Args:
        lyrics: raw lyrics text; empty and metadata lines are dropped first.
    """

    unit = "word"

    def __init__(self, lyrics: str):
        self.raw = lyrics or ""
        self._lines: list[list[tuple[str, int]]] = []  # per line: (piece, vocabulary id or -1)
        self.vocabulary: list[str] = []
        index_of: dict[str, int] = {}
        for line in lyric_lines(self.raw):
            pieces: list[tuple[str, int]] = []
            position = 0
            for match in _WORD.finditer(line):
                if match.start() > position:
                    pieces.append((line[position:match.start()], -1))
                token = match.group(0)
                if token not in index_of:
                    index_of[token] = len(self.vocabulary)
                    self.vocabulary.append(token)
                pieces.append((token, index_of[token]))
                position = match.end()
            if position < len(line):
                pieces.append((line[position:], -1))
            self._lines.append(pieces)
        self._features = self.vocabulary

    def line_pieces(self) -> list[list[tuple[str, int]]]:
        """Per line, its pieces ``(text, word feature index)``; index ``-1`` for text between words."""
        return [list(pieces) for pieces in self._lines]

    def inverse_removing(self, indices_to_remove: Iterable[int]) -> str:
        """The lyrics without every occurrence of the given words; whitespace runs collapsed."""
        removed = {int(i) for i in np.asarray(list(indices_to_remove), dtype=int).ravel()}
        out_lines = []
        for pieces in self._lines:
            text = "".join(piece for piece, vid in pieces if vid < 0 or vid not in removed)
            text = " ".join(text.split())
            if text:
                out_lines.append(text)
        return "\n".join(out_lines)


#: Lyrics factorization of each ``explain.lyrics_unit``.
LYRICS_FACTORIZATIONS = {"line": LineIndexedString, "distinct_line": DistinctLineIndexedString,
                         "section": SectionIndexedString, "word": WordIndexedString}
#: Units whose features are groups of lines (shown line by line, each line with its feature's weight).
LINE_GROUP_UNITS = ("distinct_line", "section")


def make_text_factorization(lyrics: str, unit: str = "line") -> _IndexedLyrics:
    """Build the lyrics factorization for ``unit`` (a key of :data:`LYRICS_FACTORIZATIONS`)."""
    classes = LYRICS_FACTORIZATIONS
    if unit not in classes:
        raise ValueError(f"unknown lyrics unit {unit!r}; expected one of {sorted(classes)}")
    return classes[unit](lyrics)


def read_lyrics_file(path: str | os.PathLike, song_id: str) -> str:
    """The text of song ``song_id``'s lyrics file (UTF-8); a missing file raises naming both."""
    path = Path(path)
    if not path.is_file():
        raise MusicLimeError(f"lyrics file of song {song_id!r} not found: {path}")
    return path.read_text(encoding="utf-8")


__all__: Sequence[str] = ["DistinctLineIndexedString", "LINE_GROUP_UNITS", "LYRICS_FACTORIZATIONS",
                          "LineIndexedString", "SectionIndexedString", "WordIndexedString", "lyric_lines",
                          "make_text_factorization", "normalized_line", "read_lyrics_file"]
