"""The ground-truth check: reading and validating the file, mapping it onto an explanation, scoring rankings."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from musiclime.common.ground_truth_file import (GroundTruthError, ground_truth_path, read_ground_truth)
from musiclime.evidence.ground_truth import (audio_leaders, audio_truth_columns, check_metrics, ground_truth_check,
                                             ground_truth_sentence, lyric_truth_columns, rank_auc, recall_at_k)
from musiclime.evidence.index_rows import ground_truth_cell, ground_truth_summary
from musiclime.method.explanation import load_explanation
from musiclime.pipeline.stages.evaluation import evaluate_song

from .evidence_helpers import AUDIO_PLANT, LINE_PLANT, SEGMENTS, explain_song, separate_song, write_song

#: The glass box's planted features are the truth.
TRUTH = {"format": 1, "style": "ai", "label": 0,
         "audio_cues": [{"stem": "drums", "start_s": 1.4, "end_s": 2.0, "cue": "planted"}],
         "temporal_segments": SEGMENTS, "components": sorted(AUDIO_PLANT), "lyric_lines": sorted(LINE_PLANT)}
NO_EVALUATION = {"stability": False, "faithfulness": False, "randomization": False}


def write_truth(path: Path, **changes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({**TRUTH, **changes}), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def explained(tmp_path_factory):
    root = tmp_path_factory.mktemp("truth")
    song = write_song(root / "songs", "s0", seed=3)
    stems = separate_song(song, root / "sep")
    lines = explain_song(song, stems, root / "line" / "explanation.json", num_samples=300)
    distinct = explain_song(song, stems, root / "distinct" / "explanation.json", num_samples=300,
                            lyrics_unit="distinct_line")
    return {"root": root, "song": song, "stems": stems, "line": lines, "distinct": distinct}


def test_rank_auc_counts_ties_half():
    truth = np.array([True, True, False, False])
    assert rank_auc(np.array([0.9, -0.8, 0.1, 0.0]), truth) == 1.0  # |weight|: the sign does not matter
    assert rank_auc(np.array([0.0, 0.1, 0.9, 0.8]), truth) == 0.0
    # pairs (t, o): 0.5 vs 0.5 tie, 0.5 vs 0.1 win, 0.2 vs 0.5 loss, 0.2 vs 0.1 win -> (2 + 0.5) / 4
    assert rank_auc(np.array([0.5, 0.2, 0.5, 0.1]), truth) == pytest.approx(0.625)
    assert rank_auc(np.ones(4), truth) == 0.5
    assert rank_auc(np.ones(3), np.array([True, True, True])) is None
    assert rank_auc(np.ones(3), np.zeros(3, dtype=bool)) is None


def test_recall_in_the_top_k():
    assert recall_at_k([4, 2, 0, 1, 3], {2, 3}) == 0.5
    assert recall_at_k([4, 2, 0, 1, 3], {4, 2}) == 1.0
    assert recall_at_k([4, 2, 0, 1, 3], {2, 3}, k=5) == 1.0
    assert recall_at_k([4, 2], set()) is None


def test_validation_errors_name_the_file_and_the_key(tmp_path):
    good = read_ground_truth(write_truth(tmp_path / "good.json"))
    assert good.components == tuple(sorted(AUDIO_PLANT)) and good.audio_cues[0].end_s == 2.0 and good.label == 0
    cases = {"format": {"format": 2}, "temporal_segments": {"temporal_segments": 0},
             "components": {"components": [f"drums_T{SEGMENTS}"]}, "lyric_lines": {"lyric_lines": "one line"},
             "audio_cues[0]": {"audio_cues": [{"stem": "drums", "start_s": 3.0, "end_s": 2.0}]},
             "label": {"label": 2}}
    for key, change in cases.items():
        path = write_truth(tmp_path / f"bad-{len(key)}-{key[:5]}.json", **change)
        with pytest.raises(GroundTruthError) as info:
            read_ground_truth(path)
        assert str(path) in str(info.value) and repr(key) in str(info.value), info.value
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(GroundTruthError, match=f"not JSON: {broken}"):
        read_ground_truth(broken)
    with pytest.raises(GroundTruthError, match="not found"):
        read_ground_truth(tmp_path / "absent.json")


def test_the_file_comes_from_the_sheet_else_beside_the_audio(tmp_path):
    audio = tmp_path / "song" / "mix.wav"
    audio.parent.mkdir()
    assert ground_truth_path(None, audio) is None
    beside = write_truth(audio.parent / "ground_truth.json")
    assert ground_truth_path(None, audio) == beside
    assert ground_truth_path(tmp_path / "named.json", audio) == tmp_path / "named.json"


def test_components_map_directly_or_through_the_segment_boundaries(explained, tmp_path):
    explanation = load_explanation(explained["line"])
    names = {i: f["feature"] for i, f in enumerate(explanation.features)}
    columns, mapping, notes = audio_truth_columns(explanation, read_ground_truth(write_truth(tmp_path / "a.json")))
    assert mapping == "components" and {names[c] for c in columns} == set(AUDIO_PLANT) and not notes
    # another segment count: the cues go through the explanation's boundaries (6 segments of 0.667 s over 4 s):
    # 1.4-2.0 s covers 0.6 s of segment 2 (1.333-2.0, 90%) and nothing of segment 1
    other = read_ground_truth(write_truth(tmp_path / "b.json", temporal_segments=3, components=["vocals_T0"]))
    columns, mapping, _ = audio_truth_columns(explanation, other)
    assert mapping == "audio_cues" and {names[c] for c in columns} == {"drums_T2"}
    # half a segment is enough (two cues of one stem add up); less is not
    cues = [{"stem": "bass", "start_s": 0.0, "end_s": 0.2}, {"stem": "bass", "start_s": 0.2, "end_s": 0.34},
            {"stem": "vocals", "start_s": 0.0, "end_s": 0.3}]
    split = read_ground_truth(write_truth(tmp_path / "c.json", temporal_segments=3, components=[], audio_cues=cues))
    columns, _, _ = audio_truth_columns(explanation, split)
    assert {names[c] for c in columns} == {"bass_T0"}
    bare = read_ground_truth(write_truth(tmp_path / "d.json", temporal_segments=3, components=[], audio_cues=[]))
    columns, mapping, notes = audio_truth_columns(explanation, bare)
    assert not columns and mapping == "none" and "not scored" in notes[0]


def test_lyric_lines_map_by_text_for_lines_and_distinct_lines(explained, tmp_path):
    truth = read_ground_truth(write_truth(tmp_path / "t.json", lyric_lines=["Sing the chorus, LOUD!", "missing line"]))
    for unit, copies in (("line", 2), ("distinct", 1)):
        explanation = load_explanation(explained[unit])
        columns, notes = lyric_truth_columns(explanation, truth)
        assert len(columns) == copies  # the chorus line is sung twice: two line features, one distinct line
        assert all("chorus" in explanation.features[c]["feature"] for c in columns)
        assert notes == ["truth lyric lines not among the explanation's lyric features: ['missing line']"]


def test_the_planted_features_score_perfectly(explained, tmp_path):
    explanation = load_explanation(explained["line"])
    check = ground_truth_check(explanation, read_ground_truth(write_truth(tmp_path / "t.json")))
    label = explanation.predicted_label
    audio, lyrics = check["labels"][str(label)]["audio"], check["labels"][str(label)]["lyrics"]
    assert audio["auc"] == 1.0 and audio["recall"] == 1.0 and audio["k"] == 4 and set(audio["top_k"]) == set(AUDIO_PLANT)
    assert lyrics["auc"] == 1.0 and lyrics["recall"] == 1.0 and lyrics["k"] == 2
    metrics = check_metrics(check, label)
    assert metrics["ground_truth_audio_auc"] == 1.0 and metrics["ground_truth_lyrics_recall"] == 1.0
    sentence = ground_truth_sentence(check, label)
    assert sentence.startswith("Ground truth: AUC 1.00 of the audio ranking, 4 of 4 truth components in the top 4")
    assert "lyric lines: AUC 1.00, 2 of 2 in the top 2" in sentence
    assert ground_truth_cell(check, label) == "audio 1.00, 4/4; lyrics 1.00, 2/2"
    evaluation = {"ground_truth": check, "metrics": metrics}
    assert ground_truth_summary([evaluation, None, {"metrics": {}}]) == (
        "Ground truth (1 song): audio AUC 1.00 (recall 1.00), lyric lines AUC 1.00 (recall 1.00), means over the songs")
    assert ground_truth_summary([None]) is None
    # a wrong truth scores low, and its leaders (when certified) would not be truth
    wrong = ground_truth_check(explanation, read_ground_truth(write_truth(
        tmp_path / "w.json", components=["vocals_T5", "drums_T5"], lyric_lines=["first line of the verse"])))
    entry = wrong["labels"][str(label)]
    assert entry["audio"]["recall"] == 0.0 and entry["audio"]["auc"] < 0.8 and entry["lyrics"]["recall"] == 0.0


def test_evaluation_records_the_check_and_the_switch_skips_it(explained, tmp_path):
    truth = write_truth(Path(explained["song"]["audio"]).parent / "ground_truth.json")
    try:
        out = evaluate_song(explained["line"], explained["stems"], {}, NO_EVALUATION, tmp_path / "e.json")
        doc = json.loads(out.read_text())
        assert doc["ground_truth"]["file"] == str(truth) and doc["ground_truth"]["mapping"] == "components"
        assert doc["metrics"]["ground_truth_audio_auc"] == 1.0 and doc["timings_s"]["ground_truth"] < 1.0
        assert set(doc["ground_truth"]["labels"]) == {str(label) for label in load_explanation(explained["line"]).local_exp}
        off = evaluate_song(explained["line"], explained["stems"], {}, {**NO_EVALUATION, "ground_truth": False},
                            tmp_path / "off.json")
        assert "ground_truth" not in json.loads(off.read_text())
        # a named file wins over the one beside the audio; an invalid one fails naming file and key
        bad = write_truth(tmp_path / "bad.json", temporal_segments="ten")
        with pytest.raises(GroundTruthError, match="temporal_segments"):
            evaluate_song(explained["line"], explained["stems"], {}, NO_EVALUATION, tmp_path / "bad-e.json",
                          ground_truth=bad)
    finally:
        truth.unlink()


def test_the_switch_keeps_evaluation_keys_when_on():
    """Adding the check must not re-key (and so re-run) existing evaluations; switching it off does."""
    from musiclime.pipeline.config_schema import EvaluationConfig
    from musiclime.pipeline.plan import EVALUATION_KEYS, evaluation_slice

    defaults = vars(EvaluationConfig())
    assert defaults["ground_truth"] is True
    assert evaluation_slice(defaults) == {k: defaults[k] for k in EVALUATION_KEYS}
    assert evaluation_slice({**defaults, "ground_truth": False})["ground_truth"] is False


def test_leaders_are_the_ones_the_page_names():
    """Certified top ranks (at most three) where the audio is resolved; none when no rank is certified."""
    from types import SimpleNamespace

    from musiclime.evidence.rankings import ModalityRanking, RankedFeature

    rows = [RankedFeature(rank=r, column=c, label=f"c{c}", weight=0.1) for r, c in enumerate((7, 3, 5, 1), start=1)]
    plain = SimpleNamespace(metadata={})
    assert audio_leaders(plain, ModalityRanking("audio", rows, 4, certified_top_k=4, judged=True), 1) == [7, 3, 5]
    assert audio_leaders(plain, ModalityRanking("audio", rows, 4, certified_top_k=0, judged=True), 1) == []
    assert audio_leaders(plain, ModalityRanking("audio", rows, 4, certified_top_k=2, judged=False), 1) == []
