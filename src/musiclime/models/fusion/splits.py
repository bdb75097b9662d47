"""Train / validation / test split of labelled songs for training a detector head.

A sample sheet's ``split`` column (``train`` / ``validation`` / ``test``) wins when it is filled for
every song; otherwise the split is drawn per class (stratified) with a seeded generator, so each
split holds at least one song of each class.
"""

from __future__ import annotations

import logging
import math
from typing import Sequence

import numpy as np

from ..demo_classifier import LABEL_NAMES
from .head import HeadError

log = logging.getLogger(__name__)

SPLITS = ("train", "validation", "test")


def split_songs(labels: Sequence, song_ids: Sequence[str], seed: int, validation: float = 0.15,
                test: float = 0.15, column: Sequence[str | None] | None = None) -> dict[str, np.ndarray]:
    """Song indices per split: ``{"train", "validation", "test"}`` -> sorted int64 arrays into ``song_ids``.

    Args:
        labels: ``(N,)`` 0 (AI-Generated) or 1 (Human-Composed); None / NaN marks an unlabelled song.
        song_ids: ``N`` song names, used in messages (and must be unique).
        seed: seeds the stratified draw (same seed, same split).
        validation, test: fractions of each class drawn into those splits (at least one song each).
        column: the sheet's ``split`` values; used when every value is given.

    Raises:
        HeadError: naming the songs or counts, for unlabelled songs, labels other than 0/1, one class
            only, a class with fewer than 3 songs, a bad or partly missing ``split`` column, or a
            column split without songs of both classes.
    """
    song_ids = [str(song) for song in song_ids]
    labels = _checked_labels(labels, song_ids)
    from_column = split_from_column(column)
    if from_column:
        split = _split_from_column(column, song_ids)
    else:
        split = _stratified_split(labels, seed, validation, test)
    _check_both_classes(split, labels, "the split column" if from_column else "the stratified split")
    log.info("split of %d songs: %s", len(song_ids), {name: len(idx) for name, idx in split.items()})
    return split


def split_from_column(column) -> bool:
    """Whether a ``split`` column (sequence of values or None) decides the split (some value given)."""
    return column is not None and any(_given(value) for value in column)


def _given(value) -> bool:
    return value is not None and not (isinstance(value, float) and math.isnan(value)) and str(value).strip() != ""


def _name(label: int) -> str:
    return f"{label} ({LABEL_NAMES[label]})"


def _some(songs: list[str], limit: int = 5) -> str:
    shown = ", ".join(repr(song) for song in songs[:limit])
    return shown + (f" and {len(songs) - limit} more" if len(songs) > limit else "")


def _checked_labels(labels, song_ids: list[str]) -> np.ndarray:
    labels = list(labels)
    if len(labels) != len(song_ids):
        raise HeadError(f"{len(labels)} labels for {len(song_ids)} songs")
    if len(set(song_ids)) < len(song_ids):
        seen, duplicates = set(), []
        for song in song_ids:
            if song in seen and song not in duplicates:
                duplicates.append(song)
            seen.add(song)
        raise HeadError(f"song ids must be unique; repeated: {_some(duplicates)}")
    unlabelled = [song for song, label in zip(song_ids, labels) if not _given(label)]
    if unlabelled:
        raise HeadError(f"{len(unlabelled)} of {len(song_ids)} songs have no label: {_some(unlabelled)}; "
                        f"training a head needs a label (0 = AI-Generated, 1 = Human-Composed) for every song")
    bad = [f"{song}={label!r}" for song, label in zip(song_ids, labels) if _not_binary(label)]
    if bad:
        raise HeadError(f"labels must be 0 (AI-Generated) or 1 (Human-Composed); got {_some(bad)}")
    labels = np.asarray([int(label) for label in labels], dtype=np.int64)
    counts = [int(np.sum(labels == c)) for c in (0, 1)]
    if min(counts) == 0:
        only = 0 if counts[0] else 1
        raise HeadError(f"labels of one class: every song is {_name(only)} ({len(labels)} songs); "
                        f"a head needs songs of both classes")
    for c in (0, 1):
        if counts[c] < 3:
            songs = [song for song, label in zip(song_ids, labels) if label == c]
            raise HeadError(f"class {_name(c)} has {counts[c]} songs ({_some(songs)}); each class needs at least 3 "
                            f"(one per split: train, validation, test)")
    return labels


def _not_binary(label) -> bool:
    try:
        return float(label) not in (0.0, 1.0)
    except (TypeError, ValueError):
        return True


def _split_from_column(column, song_ids: list[str]) -> dict[str, np.ndarray]:
    column = list(column)
    if len(column) != len(song_ids):
        raise HeadError(f"split column has {len(column)} values for {len(song_ids)} songs")
    missing = [song for song, value in zip(song_ids, column) if not _given(value)]
    if missing:
        raise HeadError(f"split column is filled for some songs but not for {len(missing)}: {_some(missing)}; "
                        f"give train/validation/test for every song, or leave the column empty for a seeded split")
    values = [str(value).strip().lower() for value in column]
    bad = [f"{song}={value!r}" for song, value, clean in zip(song_ids, column, values) if clean not in SPLITS]
    if bad:
        raise HeadError(f"split column values must be one of {list(SPLITS)}; got {_some(bad)}")
    return {name: np.flatnonzero(np.asarray(values) == name).astype(np.int64) for name in SPLITS}


def _stratified_split(labels: np.ndarray, seed: int, validation: float, test: float) -> dict[str, np.ndarray]:
    for key, value in (("validation", validation), ("test", test)):
        if not 0 < value < 1:
            raise HeadError(f"{key} fraction must be in (0, 1), got {value!r}")
    if validation + test >= 1:
        raise HeadError(f"validation + test fractions must leave songs to train on, got {validation} + {test}")
    rng = np.random.default_rng(seed)
    parts = {name: [] for name in SPLITS}
    for c in (0, 1):
        members = rng.permutation(np.flatnonzero(labels == c))
        n = len(members)
        n_val = max(1, int(round(n * validation)))
        n_test = max(1, int(round(n * test)))
        while n_val + n_test > n - 1:  # keep >= 1 training song (n >= 3 guarantees n_val = n_test = 1 fits)
            if n_val >= n_test:
                n_val -= 1
            else:
                n_test -= 1
        parts["validation"].append(members[:n_val])
        parts["test"].append(members[n_val:n_val + n_test])
        parts["train"].append(members[n_val + n_test:])
    return {name: np.sort(np.concatenate(parts[name])).astype(np.int64) for name in SPLITS}


def _check_both_classes(split: dict[str, np.ndarray], labels: np.ndarray, source: str) -> None:
    for name in SPLITS:
        counts = [int(np.sum(labels[split[name]] == c)) for c in (0, 1)]
        if min(counts) == 0:
            raise HeadError(f"{source}: the {name} split has {counts[0]} songs of class {_name(0)} and {counts[1]} "
                            f"of class {_name(1)}; every split needs songs of both classes")
