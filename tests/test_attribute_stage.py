"""Work done once: a song's coalitions are scored once per model and lyric unit (the ``attribute`` stage),
and a late-fusion model encodes each lyrics text once across the coalitions and the explanation's rows."""

import numpy as np
import pytest
import torch

from musiclime import MusicLIMEExplainer
from musiclime.common.artifacts import load_arrays
from musiclime.common.errors import MusicLimeError
from musiclime.factorization.lyrics import make_text_factorization, read_lyrics_file
from musiclime.method.scoring.coalitions import score_coalitions
from musiclime.method.scoring.late_fusion import EncodingStore
from musiclime.models.demo_classifier import DemoClassifier, DemoModelConfig, DemoPredictor
from musiclime.pipeline.stages import attribute, load_factorization, perturb, predict
from musiclime.pipeline.stages.prediction import load_predict_fn

from .evidence_helpers import SEGMENTS, glassbox_slice, separate_song, write_song


@pytest.fixture
def demo_model():
    torch.manual_seed(0)
    return DemoPredictor(DemoClassifier(DemoModelConfig()), batch_size=8)


@pytest.fixture
def song_stems(tmp_path):
    song = write_song(tmp_path / "songs", "s0", seed=0)
    return song, separate_song(song, tmp_path / "sep")


@pytest.mark.parametrize("unit", ["line", "word"])
def test_the_table_is_the_one_the_explanation_would_score_at_any_segment_count(tmp_path, song_stems, unit):
    song, stems = song_stems
    model = {**glassbox_slice(stems), "requires": [], "memory_budget_mb": 64}
    path = attribute(stems, song["lyrics"], unit, model, tmp_path / "coalitions.npz", tmp_path / "config.yaml")
    meta, arrays = load_arrays(path)
    assert meta["song_id"] == "s0" and meta["lyrics_unit"] == unit and meta["players"][-1] == "lyrics"
    assert arrays["coalition_predictions"].shape == (2 ** len(meta["players"]), 2)
    text = make_text_factorization(read_lyrics_file(song["lyrics"], "s0"), unit)
    predict_fn = load_predict_fn(model)
    for segments in (1, SEGMENTS, 7):
        fact, _ = load_factorization(stems, segments)
        table = score_coalitions(fact, text, predict_fn)
        np.testing.assert_allclose(arrays["coalition_predictions"], table.predictions, atol=1e-6)


def test_the_units_differ_where_their_texts_do(tmp_path, song_stems):
    """The word unit's all-off lyrics keep the punctuation; the line unit's are empty: two tables."""
    song, stems = song_stems
    model = {**glassbox_slice(stems), "requires": [], "memory_budget_mb": 64}
    text = read_lyrics_file(song["lyrics"], "s0")
    off = {unit: make_text_factorization(text, unit) for unit in ("line", "word")}
    off = {unit: f.inverse_removing(list(range(f.num_words()))) for unit, f in off.items()}
    assert off["line"] == "" and off["word"] != ""


def test_predict_refuses_another_songs_coalitions(tmp_path, song_stems):
    song, stems = song_stems
    other = write_song(tmp_path / "songs", "s1", seed=1)
    other_stems = separate_song(other, tmp_path / "sep1")
    model = {**glassbox_slice(stems), "requires": [], "memory_budget_mb": 64}
    wrong = attribute(other_stems, other["lyrics"], "line", model, tmp_path / "s1.npz", tmp_path / "s1.yaml")
    masks_slice = {"num_samples": 40, "temporal_segments": SEGMENTS, "modality": "both", "lyrics_unit": "line",
                   "sampler": "random", "seed": 0}
    masks = perturb(stems, song["lyrics"], masks_slice, "s0", tmp_path / "masks.npz", tmp_path / "masks.yaml")
    with pytest.raises(MusicLimeError, match=r"s1\.npz are song 's1'.*not song 's0'"):
        predict(stems, masks, song["lyrics"], wrong, model, tmp_path / "p.npz", tmp_path / "p.yaml", progress=False)
    assert not (tmp_path / "p.npz").exists()


def test_predict_copies_the_table_and_scores_no_coalition(tmp_path, song_stems):
    song, stems = song_stems
    model = {**glassbox_slice(stems), "requires": [], "memory_budget_mb": 64}
    table = attribute(stems, song["lyrics"], "line", model, tmp_path / "coalitions.npz", tmp_path / "c.yaml")
    masks_slice = {"num_samples": 40, "temporal_segments": SEGMENTS, "modality": "both", "lyrics_unit": "line",
                   "sampler": "random", "seed": 0}
    masks = perturb(stems, song["lyrics"], masks_slice, "s0", tmp_path / "masks.npz", tmp_path / "masks.yaml")
    out = predict(stems, masks, song["lyrics"], table, model, tmp_path / "p.npz", tmp_path / "p.yaml", progress=False)
    meta, arrays = load_arrays(out)
    np.testing.assert_array_equal(arrays["coalition_predictions"], load_arrays(table)[1]["coalition_predictions"])
    assert meta["coalitions"]["file"] == str(table)
    # the rows, the original and the all-off row: no 2 ** P coalition items in this job
    assert meta["n_items"] <= 40 + 2


def test_an_audio_explanation_of_a_late_fusion_model_encodes_the_lyrics_on_and_off_only(factorization,
                                                                                       text_factorization,
                                                                                       demo_model):
    explainer = MusicLIMEExplainer(random_state=0, progress=False)
    exp = explainer.explain_instance_with_factorization(factorization, text_factorization, demo_model,
                                                        num_samples=200, labels=None, modality="audio")
    coalitions = exp.metadata["stem_attribution"]["costs"]
    assert coalitions["lyric_encodings"] == 2  # the whole lyrics and none
    assert exp.metadata["lyric_encodings"] == 0  # the rows' whole lyrics: already encoded for the coalitions
    assert coalitions["audio_encodings"] == 2 ** len(factorization.source_names)


def test_one_store_counts_each_text_once_whatever_mask_made_it(factorization, text_factorization, demo_model):
    store = EncodingStore()
    table = score_coalitions(factorization, text_factorization, demo_model, store=store)
    assert table.costs["lyric_encodings"] == 2 and store.lyric_encodings == 2
    again = score_coalitions(factorization, text_factorization, demo_model, store=store)
    assert (again.costs["audio_encodings"], again.costs["lyric_encodings"]) == (0, 0)
    np.testing.assert_allclose(again.predictions, table.predictions)
