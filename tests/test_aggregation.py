"""Global importance (I_LIME, I_AVG, homogeneity) checked against hand-computed values."""

from __future__ import annotations

import csv
import math

import pytest

from musiclime.common.errors import ConfigError
from musiclime.evidence.aggregation import AGGREGATION_METHODS, global_importance, homogeneity_of
from musiclime.evidence.lyric_roles import ROLE_KINDS
from musiclime.evidence.paper_aggregation import importance_rows, paper_importance
from musiclime.pipeline.config_schema import ReportConfig
from musiclime.pipeline.stages.reports import aggregate_point
from musiclime.method.explanation import MusicLIMEExplanation, load_explanation
from musiclime.method.estimation.surrogate import SurrogateFit

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


# The paper's method on four songs (features: 0 drums_T0, 1 bass_T0, 2 drums_T1, 3 the word "la"):
#   class 1: A {drums_T0 +0.3, bass_T0 +0.05, drums_T1 -0.1, la +0.2}, B {drums_T0 +0.1, drums_T1 +0.4, la +0.6}
#   class 0: C {drums_T0 +0.5, la -0.3},                             D {drums_T0 +0.3, bass_T0 +0.2, la 0.0}
# Only positive weights count (drums_T1 -0.1, la -0.3 and la 0.0 are dropped):
#   class 1: S(drums_T0) = 0.4, n = 2; S(bass_T0) = 0.05, n = 1; S(drums_T1) = 0.4, n = 1; S(la) = 0.8, n = 2
#   class 0: S(drums_T0) = 0.8, n = 2; S(bass_T0) = 0.2, n = 1
# I_LIME = sqrt(S): drums_T0 0.632456 (c1), 0.894427 (c0); bass_T0 0.223607 (c1), 0.447214 (c0); la 0.894427
# I_AVG = S / n: drums_T0 0.2 (c1), 0.4 (c0); drums_T1 0.4; la 0.4; bass_T0 0.05 (c1), 0.2 (c0)
# Entropy (bits) of each feature's I_LIME over the classes:
#   drums_T0: p = sqrt(.8) / (sqrt(.8) + sqrt(.4)) = 0.585786, 0.414214 -> H = 0.978660 (the largest)
#   bass_T0:  p = 2/3, 1/3 (sqrt(.2) = 2 sqrt(.05)) -> H = 0.918296;  drums_T1, la: one class -> H = 0
# min-max over all four features: drums_T0 1, bass_T0 0.918296 / 0.978660 = 0.938319, others 0
# I_HOM = I_LIME (1 - that): drums_T0 0; bass_T0 0.447214 * 0.061681 = 0.027584 (c0), 0.013792 (c1);
#   la 0.894427; drums_T1 0.632456
# Groups, min-max within their kind: source drums S = 0.3 + 0.5 = 0.8 (c1, n 2), 0.5 + 0.3 = 0.8 (c0, n 2)
#   -> H = 1 bit (the largest of the sources), bass H = 0.918296 (the smallest): homogeneity 0 and 1.
PAPER_SONGS = [(1, {0: 0.3, 1: 0.05, 2: -0.1, 3: 0.2}), (1, {0: 0.1, 2: 0.4, 3: 0.6}), (0, {0: 0.5, 3: -0.3}),
               (0, {0: 0.3, 1: 0.2, 3: 0.0})]


def test_paper_method_hand_computed():
    rows = paper_importance([explanation(label, weights) for label, weights in PAPER_SONGS])
    assert {r["method"] for r in rows} == {"paper"}
    drums0_c1, drums0_c0 = row(rows, 1, "component", "drums_T0"), row(rows, 0, "component", "drums_T0")
    assert drums0_c1["sum_abs_weight"] == pytest.approx(0.4) and drums0_c1["n_present"] == 2
    assert drums0_c1["I_LIME"] == pytest.approx(0.632456, abs=1e-6) and drums0_c1["I_AVG"] == pytest.approx(0.2)
    assert drums0_c0["I_LIME"] == pytest.approx(0.894427, abs=1e-6) and drums0_c0["I_AVG"] == pytest.approx(0.4)
    assert drums0_c1["homogeneity"] == pytest.approx(0.0, abs=1e-12) and drums0_c0["I_HOM"] == pytest.approx(0.0,
                                                                                                         abs=1e-12)
    drums1 = row(rows, 1, "component", "drums_T1")  # -0.1 in song A dropped: one appearance
    assert drums1["n_present"] == 1 and drums1["I_AVG"] == pytest.approx(0.4)
    assert drums1["I_HOM"] == pytest.approx(0.632456, abs=1e-6)
    bass_c0, bass_c1 = row(rows, 0, "component", "bass_T0"), row(rows, 1, "component", "bass_T0")
    assert bass_c0["homogeneity"] == pytest.approx(0.061681, abs=1e-6)
    assert bass_c0["I_HOM"] == pytest.approx(0.027584, abs=1e-6) and bass_c1["I_HOM"] == pytest.approx(0.013792,
                                                                                                       abs=1e-6)
    word = row(rows, 1, "word", "la")
    assert word["n_present"] == 2 and word["I_AVG"] == pytest.approx(0.4) and word["I_HOM"] == pytest.approx(
        0.894427, abs=1e-6)
    assert not [r for r in rows if r["class"] == 0 and r["kind"] == "word"]  # la: -0.3 and 0.0 in class 0
    drums_src, bass_src = row(rows, 1, "source", "drums"), row(rows, 0, "source", "bass")
    assert drums_src["I_AVG"] == pytest.approx(0.4) and drums_src["homogeneity"] == pytest.approx(0.0, abs=1e-12)
    assert bass_src["homogeneity"] == pytest.approx(1.0) and bass_src["I_HOM"] == pytest.approx(0.447214, abs=1e-6)


def test_paper_method_equal_entropies_weight_one():
    rows = paper_importance([explanation(1, {0: 0.3, 3: 0.2})])  # one class: every H is 0
    assert all(r["homogeneity"] == 1.0 and r["I_HOM"] == pytest.approx(r["I_LIME"]) for r in rows)


def test_paper_method_keys_lines_by_text_with_their_songs():
    exp = explanation(1, {3: 0.2, 0: -0.1}, unit="line")
    exp.metadata["song_info"] = {"song_id": "s7"}
    rows = paper_importance([exp])
    line = row(rows, 1, "line", "la")
    assert line["songs"] == "s7" and line["I_AVG"] == pytest.approx(0.2)
    assert {r["kind"] for r in rows} == {"modality", "line", *ROLE_KINDS}  # drums_T0 negative: no audio row
    assert row(rows, 1, "lyric repetition", "sung once")["I_AVG"] == pytest.approx(0.2)


def test_method_is_chosen_by_config_key():
    songs = [explanation(label, weights) for label, weights in PAPER_SONGS]
    assert {r["method"] for r in importance_rows(songs, "gale")} == {"gale"}
    assert AGGREGATION_METHODS == ("paper", "gale") and ReportConfig().aggregation == "paper"
    with pytest.raises(ConfigError, match="report.aggregation"):
        ReportConfig(aggregation="lime")
    with pytest.raises(ConfigError, match="report.aggregation"):
        importance_rows(songs, "lime")


def test_line_unit_has_no_word_groups():
    rows = global_importance([explanation(1, {3: 0.2}, unit="line")])
    assert {r["kind"] for r in rows} == {"modality", *ROLE_KINDS}


def test_aggregate_point_writes_csv_and_plot(tmp_path):
    paths = []
    for i in range(3):
        song = write_song(tmp_path / "songs", f"s{i}", seed=i)
        stems = separate_song(song, tmp_path / f"s{i}")
        paths.append(explain_song(song, stems, tmp_path / f"s{i}" / "explanation.json", num_samples=150))
    def local(exp):  # the selected features
        return exp.local_exp[1]

    def every(exp):  # every feature, from the full fit
        return list(enumerate(exp.metadata["full_fit"]["labels"]["1"]["weights"]))

    # gale: the selected features' |weights|; paper: every feature's positive weights
    for method, keep, weights in (("gale", lambda w: True, local), ("paper", lambda w: w > 0, every)):
        out_csv, out_png = aggregate_point(paths, tmp_path / "agg" / f"importance-{method}.csv",
                                           tmp_path / "agg" / f"importance-{method}.png", method)
        with open(out_csv, newline="") as handle:
            table = list(csv.DictReader(handle))
        assert {"I_LIME", "I_AVG", "I_HOM"} <= set(table[0]) and {r["method"] for r in table} == {method}
        drums = [r for r in table if r["kind"] == "source" and r["group"] == "drums"]
        assert drums and float(drums[0]["I_LIME"]) > 0
        expected = sum(abs(w) for p in paths for i, w in weights(load_explanation(p))
                       if load_explanation(p).features[i]["feature"].startswith("drums_") and keep(w))
        assert float(drums[0]["I_LIME"]) == pytest.approx(math.sqrt(expected), rel=1e-5)
        assert out_png.stat().st_size > 5000


def test_a_distinct_line_counts_once_per_song_and_sections_are_global():
    features = FEATURES[:3] + [{"type": "lyrics", "feature": "la la", "index": 0, "count": 8, "repeats": 8,
                                "occurrences": list(range(8))}]
    songs = []
    for song, weight in (("s1", 0.4), ("s2", 0.2)):
        exp = MusicLIMEExplanation(None, None, None, None, features=features, probabilities_original=[0.3, 0.7],
                                   metadata={"lyrics_unit": "distinct_line", "song_info": {"song_id": song}})
        exp.add_fit(SurrogateFit(label=1, intercept=0.0, local_exp=[(3, weight)], score=1.0, local_pred=0.5))
        songs.append(exp)
    line = row(paper_importance(songs), 1, "line", "la la")  # sung 8 times in each song: still 2 counts
    assert line["n_present"] == 2 and line["I_AVG"] == pytest.approx(0.3) and line["songs"] == "s1 s2"
    section = explanation(1, {3: 0.2}, unit="section")
    assert row(paper_importance([section]), 1, "section", "la")["I_AVG"] == pytest.approx(0.2)
    assert row(global_importance([section]), 1, "section", "la")["n_present"] == 1


def with_full_fit(label: int, weights: dict[int, float], top: int = 2) -> MusicLIMEExplanation:
    """An explanation whose full fit holds ``weights`` (every feature) and whose ``local_exp`` keeps only the
    ``top`` largest |weights|, as LIME's feature selection does."""
    exp = explanation(label, dict(sorted(weights.items(), key=lambda kv: -abs(kv[1]))[:top]))
    exp.metadata["full_fit"] = {"labels": {str(label): {"weights": [weights.get(i, 0.0) for i in range(len(FEATURES))],
                                                        "intercept": 0.0, "score": 1.0}}}
    return exp


def test_the_paper_method_aggregates_every_feature_as_the_notebook_by_default():
    """The notebook explained with num_features=100000: every feature's weight counts. With the songs'
    full fits holding PAPER_SONGS, the default equals the hand-computed values above (which count every
    weight), while `top` counts each song's two largest only."""
    songs = [with_full_fit(label, weights) for label, weights in PAPER_SONGS]
    every = paper_importance(songs)
    assert every == paper_importance([explanation(label, weights) for label, weights in PAPER_SONGS])
    assert row(every, 1, "component", "bass_T0")["I_HOM"] == pytest.approx(0.013792, abs=1e-6)
    top = paper_importance(songs, "top")  # song A keeps drums_T0 and la: bass_T0 +0.05 is dropped
    assert not [r for r in top if r["class"] == 1 and r["group"] == "bass_T0"]
    assert importance_rows(songs, "paper", "top") == top and importance_rows(songs, "paper") == every
    with pytest.raises(ConfigError, match="report.aggregation_features"):
        paper_importance(songs, "some")
    assert ReportConfig().aggregation_features == "all"
