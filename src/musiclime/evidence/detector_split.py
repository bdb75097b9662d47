"""Where a fusion detector's head used each song (train, validation, test), as pages and the index say it.

The workflow trains a fusion head (``model=fusion``) on the sample sheet's labelled songs, split into
train, validation and test (its ``metrics.json`` lists the songs of each, with the head's scores). A
probability of 0.99 on a song the head trained on reads like a held-out result and is not one, so each
song page names the song's split and what it means, and the index tags each song with its split (under
its name, so the table keeps its width) and gives, above its table, the held-out songs beside the
head's test scores. Only the ``test`` songs are held
out; ``validation`` songs chose the epoch training stopped at (early stopping), so they are not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Mapping, Sequence

#: The splits, in the order of ``metrics.json``.
SPLITS = ("train", "validation", "test")
#: The index's tag of each split, under the song's name.
SPLIT_TAGS = {"train": "train", "validation": "validation", "test": "test: held out"}
#: The tooltip of the index's ``song`` header in a point with such a head.
SPLIT_TITLE = ("under each song, where the fusion detector's head used it: train (trained on it), validation (its "
               "loss chose when training stopped), test (held out: never trained on); only a test song's P is a "
               "held-out result; no tag: not among the head's songs (no label)")


def detector_metrics(detector: Mapping | None) -> dict | None:
    """The ``metrics.json`` of the head a point's ``detector`` entry names (``key``, ``files``), or ``None``
    for a model the workflow did not train or a head whose metrics are not written."""
    if not detector:
        return None
    metrics_file = next((Path(f) for f in detector.get("files", ()) if Path(f).name == "metrics.json"), None)
    if metrics_file is None or not metrics_file.is_file():
        return None
    return json.loads(metrics_file.read_text(encoding="utf-8"))


@dataclass(frozen=True)
class DetectorSplits:
    """The songs of each split of one trained head and its test scores (from its ``metrics.json``).

    Attributes:
        key: the head's folder name (its detector key).
        split_of: song id -> ``train`` / ``validation`` / ``test``.
        test: the head's scores on the test songs (``accuracy``, ``balanced_accuracy``, ``roc_auc``, ``n``).
    """

    key: str
    split_of: dict[str, str] = field(default_factory=dict)
    test: dict = field(default_factory=dict)

    @classmethod
    def from_detector(cls, detector: Mapping | None) -> "DetectorSplits | None":
        """The splits of the head a point's ``detector`` entry names (``key``, ``files`` with its
        ``metrics.json``); ``None`` for a model the workflow did not train or a head without a split."""
        metrics = detector_metrics(detector)
        if metrics is None:
            return None
        split = metrics.get("split") or {}
        if not split:
            return None
        split_of = {str(song): name for name in SPLITS for song in split.get(name, ())}
        key = detector.get("key") or next(Path(f).parent.name for f in detector["files"]
                                          if Path(f).name == "metrics.json")
        return cls(str(key), split_of, dict(metrics.get("test") or {}))

    def of(self, song_id: str) -> str | None:
        """The song's split, or ``None`` when the head did not use it (an unlabelled song)."""
        return self.split_of.get(str(song_id))

    def tag(self, song_id: str) -> str | None:
        """The index's tag under the song's name: ``train``, ``validation``, ``test: held out``, or ``None``."""
        split = self.of(song_id)
        return None if split is None else SPLIT_TAGS[split]

    def sentence(self, song_id: str) -> str:
        """What the song page says of the song's split."""
        split = self.of(song_id)
        head = f"the detector's head ({self.key})"
        if split == "train":
            return (f"Detector split: train. {head[0].upper() + head[1:]} was trained on this song, so its probability "
                    "here is not a held-out result.")
        if split == "validation":
            return (f"Detector split: validation. The loss on this song chose when the training of {head} stopped "
                    "(early stopping), so its probability here is not a held-out result.")
        if split == "test":
            return (f"Detector split: test, held out. {head[0].upper() + head[1:]} never trained on this song; "
                    f"its scores over the {self.test_count()} test songs: {self.test_scores()}.")
        return (f"Detector split: none. {head[0].upper() + head[1:]} did not use this song (it has no label), so its "
                "probability is on a song the head never saw.")

    def page_entry(self, song_id: str) -> dict:
        """``{"split": train | validation | test | None, "sentence"}``: what a song page shows."""
        return {"split": self.of(song_id), "sentence": self.sentence(song_id)}

    def test_count(self) -> int:
        return int(self.test.get("n") or sum(split == "test" for split in self.split_of.values()))

    def test_scores(self) -> str:
        """``accuracy 0.50, balanced accuracy 0.50, ROC AUC 0.75`` (``n/a`` where not defined)."""
        def score(value) -> str:
            return "n/a" if value is None else f"{float(value):.2f}"

        return (f"accuracy {score(self.test.get('accuracy'))}, balanced accuracy "
                f"{score(self.test.get('balanced_accuracy'))}, ROC AUC {score(self.test.get('roc_auc'))}")

    def held_out_summary(self, song_ids: Sequence[str]) -> str:
        """The index's line above a point's table: the held-out songs among ``song_ids`` beside the head's
        test scores, and what the other songs' probabilities are not."""
        held_out = [song for song in song_ids if self.of(song) == "test"]
        trained = sum(self.of(song) in ("train", "validation") for song in song_ids)
        listed = ", ".join(held_out[:10]) + (", ..." if len(held_out) > 10 else "")
        songs = (f"{len(held_out)} of the {len(song_ids)} songs below {'is' if len(held_out) == 1 else 'are'} held out "
                 f"(test split): {listed}"
                 if held_out else f"none of the {len(song_ids)} songs below is held out (test split)")
        return (f"{songs}; the head's test scores over its {self.test_count()} test songs: {self.test_scores()}"
                + (f". The head trained on (or stopped its training on) the other {trained}: their P is not a "
                   "held-out result" if trained else ""))
