"""Each song page and the index name the song's split in the training of the fusion detector's head: a P on a
training song must not read like a held-out result, and the index gives the head's test scores beside its test songs."""

from __future__ import annotations

import html
import json

import pytest

from musiclime.common.atomic_io import write_json
from musiclime.evidence.detector_split import DetectorSplits
from musiclime.pipeline.stages.pages import point_pages

from .evidence_helpers import explain_song, separate_song, write_song
from .index_page import rows_by_song

SPLIT = {"train": ["s0", "x1", "x2"], "validation": ["s1", "x3"], "test": ["s2", "x4"]}
TEST = {"accuracy": 0.5, "balanced_accuracy": 0.5, "roc_auc": 0.75, "n": 2}


@pytest.fixture(scope="module")
def pages(tmp_path_factory):
    """Pages of four explained songs: one per split, and one the head did not use (``s3``, unlabelled)."""
    root = tmp_path_factory.mktemp("split-pages")
    explanations = []
    for i in range(4):
        song = write_song(root / "songs", f"s{i}", seed=i)
        folder = root / "results" / "songs" / f"s{i}"
        explanations.append(str(explain_song(song, separate_song(song, folder), folder / "explanation.json",
                                             num_samples=120)))
    head = root / "results" / "detectors" / "fusion-abc"
    write_json(head / "metrics.json", {"split": SPLIT, "test": TEST})
    point = {"id": "p0", "overrides": ["model=fusion"], "config": {"report": {"num_features": 5},
                                                                   "experiment_name": "split pages"},
             "detector": {"key": head.name, "files": [str(head / "metrics.json")]}}
    index = point_pages(explanations, [], [], [], point, root / "results" / "points" / "p0" / "songs",
                        root / "results" / "points" / "p0" / "report.html",
                        cohorts={"s0": {"era": "1970s"}, "s2": {"era": 1990}})
    return {"index": index, "songs": root / "results" / "points" / "p0" / "songs"}


def text_of(path) -> str:
    return html.unescape(path.read_text(encoding="utf-8"))


def test_each_song_page_names_its_split_and_what_it_means(pages):
    train, validation, test, unused = (text_of(pages["songs"] / f"s{i}.html") for i in range(4))
    assert 'id="detector-split"' in pages["songs"].joinpath("s0.html").read_text()
    assert "Detector split: train." in train and "was trained on this song" in train
    assert "not a held-out result" in train and "not a held-out result" in validation
    assert "Detector split: validation." in validation and "early stopping" in validation
    assert "Detector split: test, held out." in test and "never trained on this song" in test
    assert "over the 2 test songs: accuracy 0.50, balanced accuracy 0.50, ROC AUC 0.75" in test
    assert "held-out result" not in test
    assert "Detector split: none." in unused and "no label" in unused


def test_the_index_tags_each_song_with_its_split_and_gives_the_test_scores_beside_the_held_out_songs(pages):
    index = text_of(pages["index"])
    rows = rows_by_song(pages["index"])
    assert {song: row["split"] for song, row in rows.items()} == {"s0": "train", "s1": "validation",
                                                                  "s2": "test: held out", "s3": None}
    # the split filter: a song the head did not use has none
    assert {song: row["facets"]["detector split"] for song, row in rows.items()} == {
        "s0": "train", "s1": "validation", "s2": "test: held out", "s3": "-"}
    # a cohort column given per song: one more filter (a song without a value: "-")
    assert {song: row["facets"]["era"] for song, row in rows.items()} == {"s0": "1970s", "s1": "-", "s2": "1990",
                                                                          "s3": "-"}
    assert "<th title=\"under each song, where the fusion detector's head used it" in index
    assert ("1 of the 4 songs below is held out (test split): s2; the head's test scores over its 2 test songs: "
            "accuracy 0.50, balanced accuracy 0.50, ROC AUC 0.75. The head trained on (or stopped its training on) "
            "the other 2: their P is not a held-out result") in index


def test_pages_without_a_trained_head_say_nothing_of_splits(tmp_path):
    assert DetectorSplits.from_detector(None) is None
    assert DetectorSplits.from_detector({"key": "x", "files": [str(tmp_path / "metrics.json")]}) is None
    (tmp_path / "metrics.json").write_text(json.dumps({"test": TEST}))
    assert DetectorSplits.from_detector({"key": "x", "files": [str(tmp_path / "metrics.json")]}) is None
