"""Findings across songs: intervals and estimates from one formula, the glass-box dataset's coverage and
error rate, multiple-testing corrections, lyric roles, cohorts, and the findings stage."""

from __future__ import annotations

import csv
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from musiclime.common.atomic_io import write_json
from musiclime.common.cohorts import cohort_values
from musiclime.common.errors import ConfigError
from musiclime.evidence.aggregation import global_importance
from musiclime.evidence.bootstrap import column_quantiles, expanded_tail, percentile_interval, resample_counts
from musiclime.evidence.dataset_findings import FINDING_COLUMNS, lead_rows, lead_summary, read_findings
from musiclime.evidence.differences import benjamini_hochberg, holm, pairs_to_compare
from musiclime.evidence.importance_intervals import importance_intervals, importance_rows_of, point_statistics
from musiclime.evidence.lyric_roles import line_sections, position_group, role_groups, section_role
from musiclime.evidence.paper_aggregation import paper_importance
from musiclime.evidence.song_table import song_table
from musiclime.method.estimation.surrogate import SurrogateFit
from musiclime.method.explanation import MusicLIMEExplanation
from musiclime.pipeline.config_schema import ReportConfig
from musiclime.pipeline.stages.reports import aggregate_point

from .evidence_helpers import explain_song, separate_song, write_song
from .findings_glassbox import check_repeats
from .test_aggregation import FEATURES, PAPER_SONGS, explanation, with_full_fit


def test_point_estimates_of_the_interval_code_equal_the_aggregation():
    """The intervals' formulas, with every song counted once, give the aggregation's own figures."""
    songs = [with_full_fit(label, weights) for label, weights in PAPER_SONGS]
    for i, song in enumerate(songs):
        song.metadata["song_info"] = {"song_id": f"s{i}"}
    for method, rows in (("paper", paper_importance(songs)), ("gale", global_importance(songs))):
        estimates = point_statistics(song_table([[s] for s in songs], method), method)
        for r in rows:
            for name in ("I_LIME", "I_AVG", "homogeneity", "I_HOM"):
                assert estimates[(r["class"], r["kind"], r["group"])][name] == pytest.approx(r[name], abs=1e-12), (
                    method, r["kind"], r["group"], name)


def test_intervals_contain_their_estimate_and_shrink_with_more_songs():
    rng = np.random.default_rng(3)
    widths = []
    for n in (10, 160):
        songs = []
        for i in range(2 * n):
            exp = explanation(i % 2, {0: float(rng.gamma(2.0, 0.05)), 3: float(rng.gamma(2.0, 0.1))})
            exp.metadata["song_info"] = {"song_id": f"s{i}"}
            songs.append(exp)
        table = song_table([[s] for s in songs], "paper")
        intervals = importance_intervals(table, "paper", 0.9, 300, 0)
        estimate = point_statistics(table, "paper")[(1, "component", "drums_T0")]
        entry = intervals[(1, "component", "drums_T0")]
        assert entry["I_AVG_low"] <= estimate["I_AVG"] <= entry["I_AVG_high"]
        widths.append(entry["I_AVG_high"] - entry["I_AVG_low"])
    assert widths[1] < 0.5 * widths[0]  # 16x the songs: about a quarter of the width


def test_glass_box_dataset_intervals_cover_and_differences_keep_their_error_rate():
    """200 songs a draw, 100 draws, 200 bootstrap replications each: 90% intervals of I_AVG and of the class
    means of the exact stem values cover their planted values; Holm keeps wrong "holds" on the null
    differences (half the components, two stems, every cohort difference) near alpha = 0.05 (the bound
    plus 1.5 standard errors of 100 draws), with no sign error, and finds most real differences."""
    result = check_repeats(repeats=100, songs_per_class=100, replicates=200)
    assert result["coverage"] >= 0.85 and result["share_of_figures_covered"] >= 0.85, result
    assert result["coverage_I_LIME"] >= 0.85, result  # I_HOM's (min-max of entropies) is not: docs/reports.md
    assert result["family_wise_error"] <= 0.05 + 1.5 * np.sqrt(0.05 * 0.95 / 100), result
    assert result["wrong_sign"] == 0 and result["power"] >= 0.7, result
    assert result["coverage_differences"] >= 0.85, result


def test_small_classes_keep_their_coverage_with_expanded_tails():
    """10 songs a class: plain percentile intervals cover 83% of the planted values (Hesterberg's point: the
    bootstrap's plug-in spread and normal tails are too narrow for few songs); with the tails expanded for the
    songs behind each figure they cover about 89%, and so do the differences' (82% plain)."""
    result = check_repeats(repeats=60, songs_per_class=10, replicates=200)
    assert result["coverage"] >= 0.86 and result["coverage_differences"] >= 0.86, result


def test_column_quantiles_match_numpy_and_expanded_tails_shrink_to_the_plain_ones():
    rng = np.random.default_rng(0)
    samples = rng.normal(size=(500, 3, 4))
    samples[rng.random(samples.shape) < 0.2] = np.nan
    samples[:, 0, 0] = np.nan  # never defined
    for q in (0.0, 0.05, 0.5, 0.95, 1.0):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            expected = np.nanquantile(samples, q, axis=0)
        assert np.allclose(column_quantiles(samples, np.full((3, 4), q)), expected, equal_nan=True)
    tails = expanded_tail(0.9, np.array([1, 2, 5, 10, 100, 100_000]))
    assert tails[0] == 0.0 and tails[1] < 1e-10  # one song: the range; two: practically the range
    assert np.all(np.diff(tails) > 0) and abs(tails[-1] - 0.05) < 1e-4
    assert abs(tails[3] - 0.0267) < 5e-4  # Phi(-sqrt(10/9) t_{0.95, 9}) = Phi(-1.9324)
    low, high = percentile_interval(samples, 0.9, np.full((3, 4), 100_000))
    plain_low, plain_high = percentile_interval(samples, 0.9)
    assert np.allclose(low, plain_low, equal_nan=True, atol=1e-3) and np.all((high >= plain_high) | np.isnan(high))


def test_resampling_keeps_group_sizes_and_draws_seeds_within_songs():
    groups = np.array([0, 0, 0, 1, 1])
    song_of_row = np.repeat(np.arange(5), 3)
    chunks = list(resample_counts(groups, song_of_row, 50, seed=1, chunk_cells=300))
    assert sum(len(c) for c in chunks) == 50 and len(chunks) > 1
    counts = np.concatenate(chunks)
    per_song = np.stack([counts[:, song_of_row == s].sum(axis=1) for s in range(5)], axis=1)
    assert (per_song[:, :3].sum(axis=1) == 3).all() and (per_song[:, 3:].sum(axis=1) == 2).all()
    assert len(np.unique(counts[:, :3], axis=0)) > 5  # seeds of song 0 vary across replications
    again = np.concatenate(list(resample_counts(groups, song_of_row, 50, seed=1, chunk_cells=300)))
    assert (again == counts).all()


def test_multiple_testing_corrections_hand_values():
    p = [0.01, 0.04, 0.03, 0.005, np.nan]
    # Holm: sorted 0.005 x4 = 0.02, 0.01 x3 = 0.03, 0.03 x2 = 0.06, 0.04 x1 -> max(0.06, 0.04) = 0.06
    assert holm(p)[:4] == pytest.approx([0.03, 0.06, 0.06, 0.02]) and np.isnan(holm(p)[4])
    assert benjamini_hochberg(p)[:4] == pytest.approx(stats.false_discovery_control(p[:4], method="bh"))
    assert pairs_to_compare(["a", "b", "c"], [5, 5, 2]) == [("a", "b")]
    assert pairs_to_compare(list("abcde"), [3] * 5)[0] == ("a", "not a")


LYRICS = """[Verse 1]
first line
second line
[Chorus]
sing it loud
sing it loud
[Bridge]
a bridge line
[Chorus]
sing it loud
"""


def test_lyric_lines_count_by_role():
    assert section_role("Verse 2") == "verse" and section_role("Pre-Chorus") == "pre-chorus"
    assert section_role("Hook x2") == "hook" and section_role("Spoken") == "other section"
    assert line_sections(LYRICS) == ["verse", "verse", "chorus", "chorus", "bridge", "chorus"]
    assert line_sections("no tags\nat all") is None
    lines = ["first line", "second line", "sing it loud", "sing it loud", "a bridge line", "sing it loud"]
    features = [{"type": "audio", "feature": "drums_T0", "index": 0}] + [
        {"type": "lyrics", "feature": text, "index": i} for i, text in enumerate(lines)]
    groups = role_groups(features, "line", None, shared_lines={"a bridge line"})  # no file: untagged
    assert groups[3] == [("lyric section", "repeated line"), ("lyric repetition", "sung 3+ times"),
                         ("lyric position", "middle third"), ("lyric recurrence", "this song only")]
    assert groups[1][:2] == [("lyric section", "single line"), ("lyric repetition", "sung once")]
    assert groups[5][3] == ("lyric recurrence", "in other songs too") and 0 not in groups
    assert position_group(0, 6) == "opening third" and position_group(5, 6) == "closing third"
    assert role_groups(features, "word") == {}


def test_lyric_roles_read_the_section_tags_of_the_song(tmp_path):
    path = tmp_path / "lyrics.txt"
    path.write_text(LYRICS, encoding="utf-8")
    features = [{"type": "lyrics", "feature": "sing it loud", "index": 1, "occurrences": [2, 3, 5],
                 "texts": ["sing it loud"] * 3, "repeats": 3},
                {"type": "lyrics", "feature": "a bridge line", "index": 2, "occurrences": [4],
                 "texts": ["a bridge line"], "repeats": 1}]
    groups = role_groups(features, "distinct_line", str(path))
    assert groups[0][:2] == [("lyric section", "chorus"), ("lyric repetition", "sung 3+ times")]
    assert groups[1][0] == ("lyric section", "bridge")


def test_report_config_checks_the_new_keys():
    assert ReportConfig().interval_level == 0.9 and ReportConfig().cohorts == []
    for key, value in (("interval_level", 1.5), ("difference_alpha", 0.0), ("difference_correction", "bonferroni"),
                       ("interval_replicates", 0)):
        with pytest.raises(ConfigError, match=f"report.{key}"):
            ReportConfig(**{key: value})


def test_cohort_columns_come_from_the_sheet(tmp_path):
    sheet = tmp_path / "songs.tsv"
    sheet.write_text("song_id\taudio\tlyrics\tgenerator\na\ta.wav\ta.txt\tsuno\nb\tb.wav\tb.txt\t udio \n")
    data = {"sample_sheet": str(sheet), "columns": {}}
    assert cohort_values(data, ["generator"]) == {"generator": {"a": "suno", "b": "udio"}}
    with pytest.raises(ConfigError, match=r"report.cohorts.*'model'.*songs.tsv"):
        cohort_values(data, ["model"])


def test_aggregate_stage_writes_intervals_and_findings_and_tests_class_differences(tmp_path):
    """Eight glass-box songs, four explained as each class (the model's bias decides), a cohort column: the
    aggregate stage writes the importance table with intervals, and the findings, the same rows to CSV and
    Parquet; tests the class and cohort pairs with three or more
    songs each, and the page's lead counts what it tested."""
    paths, seeds, lines = [], [], ["song_id\taudio\tlyrics\tgenerator"]
    for i in range(8):
        song = write_song(tmp_path / "songs", f"s{i}", seed=i)
        stems = separate_song(song, tmp_path / f"s{i}")
        from musiclime.models.glassbox import glassbox_predict_fn

        from .evidence_helpers import AUDIO_PLANT, LINE_PLANT, SEGMENTS
        model = glassbox_predict_fn(str(stems), SEGMENTS, AUDIO_PLANT, LINE_PLANT, bias=0.05 if i < 4 else 0.8)
        paths.append(explain_song(song, stems, tmp_path / f"s{i}" / "explanation.json", num_samples=120,
                                  predict_fn=model))
        seeds.append([explain_song(song, stems, tmp_path / f"s{i}" / "seed1.json", seed=1, num_samples=120,
                                   predict_fn=model)])
        lines.append(f"s{i}\tx.wav\tx.txt\t{'suno' if i % 2 else 'udio'}")
    sheet = tmp_path / "sheet.tsv"
    sheet.write_text("\n".join(lines) + "\n")
    report = {"aggregation": "paper", "aggregation_features": "all", "interval_replicates": 200,
              "cohorts": ["generator"]}
    metrics = tmp_path / "detectors" / "fusion-abc" / "metrics.json"  # the head's split: a cohort of its own
    write_json(metrics, {"split": {"train": ["s0", "s1", "s4", "s5"], "test": ["s2", "s3", "s6", "s7"]}})
    written = aggregate_point(paths, tmp_path / "importance-paper.csv", tmp_path / "importance-paper.png", "paper",
                              seed_explanations=seeds, report=report, out_parquet=tmp_path / "importance-paper.parquet",
                              data={"sample_sheet": str(sheet)}, out_findings=tmp_path / "findings.csv",
                              out_findings_parquet=tmp_path / "findings.parquet",
                              detector={"key": "fusion-abc", "files": [str(metrics)]})
    out_csv = written[-1]
    importance = pd.read_parquet(tmp_path / "importance-paper.parquet")
    assert {"I_AVG_low", "I_AVG_high", "I_HOM_low", "interval_level"} <= set(importance.columns)
    assert (importance["I_LIME_low"] <= importance["I_LIME_high"]).all()
    rows = read_findings(out_csv)
    frame = pd.read_parquet(tmp_path / "findings.parquet")
    assert list(frame.columns) == list(FINDING_COLUMNS) and len(frame) == len(rows)
    with open(out_csv, newline="") as handle:
        assert next(csv.reader(handle)) == list(FINDING_COLUMNS)
    classes = {r["group_a"] for r in rows if r["section"] == "class"}
    assert len(classes) == 2, classes
    comparisons = {(r["comparison"], r["group_a"], r["group_b"]) for r in rows if r["section"] == "difference"}
    assert ("generator", "suno", "udio") in comparisons and any(c[0] == "class" for c in comparisons)
    assert ("detector split", "test", "train") in comparisons
    for r in rows:
        if r["section"] == "difference" and r["p_value"] is not None:
            assert r["low"] <= r["high"] and r["p_adjusted"] >= r["p_value"]
            assert r["holds"] == (r["p_adjusted"] <= 0.05)
        if r["section"] == "class" and r["low_a"] is not None:
            assert r["low_a"] <= r["high_a"]
    summary = lead_summary(rows, 8)
    assert summary["n_tested"] == len([r for r in rows if r["section"] == "difference" and r["p_value"] is not None])
    assert all("songs than for" in lead["finding"] for lead in lead_rows(rows))


def test_one_song_features_left_out_of_the_bootstrap_change_no_other_interval():
    """Lines of one song are replicated only through their entropy of 0 in the paper's min-max pool: every
    other figure's interval is the one replicating them gives, and they get none."""
    rng = np.random.default_rng(5)
    features = FEATURES[:3] + [{"type": "lyrics", "feature": f"line {j}", "index": j} for j in range(3)]
    songs = []
    for i in range(12):
        weights = {k: float(rng.normal(0.1, 0.1)) for k in range(6)}
        weights[3 + i % 3] = abs(weights[3 + i % 3])
        exp = MusicLIMEExplanation(None, None, None, None, features=features, probabilities_original=[0.5, 0.5],
                                   metadata={"lyrics_unit": "line", "song_info": {"song_id": f"s{i}"}})
        exp.features = [dict(f, feature=f"{f['feature']} of s{i}" if f["type"] == "lyrics" and j == 3 else
                             f["feature"]) for j, f in enumerate(features)]  # line 0: one song's; lines 1, 2 shared
        exp.add_fit(SurrogateFit(label=i % 2, intercept=0.0, local_exp=list(weights.items()), score=1.0,
                                 local_pred=0.5))
        songs.append(exp)
    table = song_table([[s] for s in songs], "paper")
    fast = importance_intervals(table, "paper", 0.9, 200, 3)
    full = importance_intervals(table, "paper", 0.9, 200, 3, one_song_shortcut=False)
    one_song = [key for key in full if key[1] == "line" and " of s" in key[2]]
    assert one_song and not any(key in fast for key in one_song)
    shared = [key for key in full if key not in one_song]
    assert len(shared) == len(fast) and any(key[1] == "component" for key in shared)
    for key in shared:
        for name, value in full[key].items():
            assert fast[key][name] == pytest.approx(value, nan_ok=True, abs=1e-6), (key, name)


def test_rows_from_the_table_equal_the_aggregation_of_the_explanations():
    """The aggregate job takes its rows from the per-song table (each explanation's groups computed once):
    the same rows, in the same order, as the aggregation of the explanations, for both methods."""
    songs = [with_full_fit(label, weights) for label, weights in PAPER_SONGS]
    lines = explanation(1, {3: 0.2, 0: 0.1}, unit="line")
    for i, song in enumerate([*songs, lines]):
        song.metadata["song_info"] = {"song_id": f"s{i}"}
    for method, rows in (("paper", paper_importance([*songs, lines])), ("gale", global_importance([*songs, lines]))):
        derived = importance_rows_of(song_table([[s] for s in [*songs, lines]], method), method)
        assert [(r["class"], r["kind"], r["group"]) for r in derived] == [(r["class"], r["kind"], r["group"])
                                                                          for r in rows], method
        for mine, theirs in zip(derived, rows):
            assert mine.keys() == theirs.keys()
            for key, value in theirs.items():
                assert mine[key] == (pytest.approx(value, abs=1e-12) if isinstance(value, float) else value), (
                    method, theirs["kind"], theirs["group"], key)
