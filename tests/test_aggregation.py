"""Global importance (I_LIME, I_AVG, homogeneity) checked against hand-computed values."""

from __future__ import annotations

import csv
import math

import pytest

from musiclime.evidence.aggregation import global_importance, homogeneity_of
from musiclime.pipeline.stages.reports import aggregate_point
from musiclime.method.explanation import MusicLIMEExplanation, load_explanation
from musiclime.method.surrogate import SurrogateFit

from .evidence_helpers import explain_song, separate_song, write_song

FEATURES = [{"type": "audio", "feature": "drums_T0", "index": 0}, {"type": "audio", "feature": "bass_T0", "index": 1},
            {"type": "audio", "feature": "drums_T1", "index": 2}, {"type": "lyrics", "feature": "la", "index": 0}]


def explanation(label: int, weights: dict[int, float], unit: str = "word") -> MusicLIMEExplanation:
    probs = [0.8, 0.2] if label == 0 else [0.3, 0.7]
    exp = MusicLIMEExplanation(None, None, None, None, features=FEATURES, probabilities_original=probs,
                               metadata={"lyrics_unit": unit})
    exp.add_fit(SurrogateFit(label=label, intercept=0.0, local_exp=list(weights.items()), score=1.0, local_pred=0.5))
    return exp


def row(rows, cls, kind, group):
    return next(r for r in rows if r["class"] == cls and r["kind"] == kind and r["group"] == group)


def test_hand_computed_importance():
    rows = global_importance([explanation(1, {0: 0.3, 1: -0.1, 3: 0.2}), explanation(1, {2: -0.4, 3: 0.0}),
                              explanation(0, {0: 0.5})])
    drums = row(rows, 1, "source", "drums")  # |0.3| in song 1, |-0.4| in song 2
    assert drums["I_LIME"] == pytest.approx(math.sqrt(0.7)) and drums["I_AVG"] == pytest.approx(0.35)
    bass = row(rows, 1, "source", "bass")  # appears in one of the two songs of class 1
    assert bass["n_present"] == 1 and bass["I_AVG"] == pytest.approx(0.1) and bass["I_LIME"] == pytest.approx(
        math.sqrt(0.1))
    word = row(rows, 1, "word", "la")  # weight 0 in song 2: not counted as present
    assert word["n_present"] == 1 and word["I_AVG"] == pytest.approx(0.2)
    audio = row(rows, 1, "modality", "audio")
    assert audio["I_AVG"] == pytest.approx((0.4 + 0.4) / 2)
    assert row(rows, 1, "segment", "T0")["I_AVG"] == pytest.approx(0.4)
    # drums: I_AVG 0.35 for class 1, 0.5 for class 0 -> p = (0.5, 0.35) / 0.85
    p = [0.5 / 0.85, 0.35 / 0.85]
    expected = 1 + sum(q * math.log(q) for q in p) / math.log(2)
    assert drums["homogeneity"] == pytest.approx(expected) and drums["I_HOM"] == pytest.approx(0.35 * expected)
    assert bass["homogeneity"] == pytest.approx(1.0)  # bass matters for class 1 only
    assert homogeneity_of([0.2, 0.2]) == pytest.approx(0.0)


def test_line_unit_has_no_word_groups():
    rows = global_importance([explanation(1, {3: 0.2}, unit="line")])
    assert {r["kind"] for r in rows} == {"modality"}


def test_aggregate_point_writes_csv_and_plot(tmp_path):
    paths = []
    for i in range(3):
        song = write_song(tmp_path / "songs", f"s{i}", seed=i)
        stems = separate_song(song, tmp_path / f"s{i}")
        paths.append(explain_song(song, stems, tmp_path / f"s{i}" / "explanation.json", num_samples=150))
    out_csv, out_png = aggregate_point(paths, tmp_path / "agg" / "importance.csv", tmp_path / "agg" / "importance.png")
    with open(out_csv, newline="") as handle:
        table = list(csv.DictReader(handle))
    assert {"I_LIME", "I_AVG", "I_HOM"} <= set(table[0])
    drums = [r for r in table if r["kind"] == "source" and r["group"] == "drums"]
    assert drums and float(drums[0]["I_LIME"]) > 0
    expected = sum(abs(w) for p in paths for i, w in load_explanation(p).local_exp[1]
                   if load_explanation(p).features[i]["feature"].startswith("drums_"))
    assert float(drums[0]["I_LIME"]) == pytest.approx(math.sqrt(expected), rel=1e-5)
    assert out_png.stat().st_size > 5000
