"""Lyrics factorized into removable features: lines (the seed's behaviour) or words (bag of words).

Both classes share the seed's interface: ``num_words()`` features, ``word(i)`` the text of feature
``i``, ``inverse_removing(indices)`` the lyrics with those features removed.
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


class WordIndexedString(_IndexedLyrics):
    """Lyrics whose features are distinct words (bag of words, as in the MusicLIME paper).

    Removing feature ``i`` removes every occurrence of that word (case-sensitive) and keeps the
    line structure and punctuation of the rest.

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


def make_text_factorization(lyrics: str, unit: str = "line") -> LineIndexedString | WordIndexedString:
    """Build the lyrics factorization for ``unit`` (``"line"`` or ``"word"``)."""
    classes = {"line": LineIndexedString, "word": WordIndexedString}
    if unit not in classes:
        raise ValueError(f"unknown lyrics unit {unit!r}; expected one of {sorted(classes)}")
    return classes[unit](lyrics)


def read_lyrics_file(path: str | os.PathLike, song_id: str) -> str:
    """The text of song ``song_id``'s lyrics file (UTF-8); a missing file raises naming both."""
    path = Path(path)
    if not path.is_file():
        raise MusicLimeError(f"lyrics file of song {song_id!r} not found: {path}")
    return path.read_text(encoding="utf-8")


__all__: Sequence[str] = ["LineIndexedString", "WordIndexedString", "lyric_lines", "make_text_factorization",
                          "read_lyrics_file"]
