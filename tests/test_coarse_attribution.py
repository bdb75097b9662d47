"""Exact Shapley values of the modalities and of each stem beside the lyrics (method.coarse_attribution)."""

from itertools import permutations

import numpy as np
import pytest

from musiclime import MusicLIMEExplainer
from musiclime.method.scoring.coalitions import coalition_masks, score_coalitions
from musiclime.method.estimation.coarse_attribution import (CoalitionTable, attribution_blocks, exact_shapley, modality_values,
                                                 stem_values)
from musiclime.models.glassbox import GlassBoxModel

AUDIO_PLANT = {"drums_T2": 0.25, "vocals_T0": -0.15, "bass_T3": 0.10, "drums_T0": 0.05}
LINE_PLANT = {"sing the chorus loud": -0.2, "second line with words": 0.12}


def brute_force_shapley(value, players: int) -> np.ndarray:
    """Shapley values as the mean marginal contribution over every order of the players."""
    phi = np.zeros(players)
    orders = list(permutations(range(players)))
    for order in orders:
        coalition = 0
        for player in order:
            phi[player] += value(coalition | (1 << player)) - value(coalition)
            coalition |= 1 << player
    return phi / len(orders)


def direct_values(factorization, text, model, label: int) -> dict[int, float]:
    """``v(c)`` by composing each coalition's input by hand (every segment of each source on) and calling
    the model one input at a time: no mask matrix, no batching, no late fusion."""
    sources = factorization.source_names
    names = factorization.get_ordered_component_names()
    n_players = len(sources) + 1
    values = {}
    for coalition in range(2 ** n_players):
        on = {s for i, s in enumerate(sources) if coalition >> i & 1}
        components = [c for c, name in enumerate(names) if name.rpartition("_T")[0] in on]
        audio = factorization.compose_model_input(components)
        lyrics_on = coalition >> len(sources) & 1
        lyrics = text.inverse_removing([] if lyrics_on else list(range(text.num_words())))
        values[coalition] = float(model([lyrics], audio[None, :])[0, label])
    return values


@pytest.mark.parametrize("players", [1, 2, 5])
def test_exact_shapley_equals_the_mean_over_orders_on_an_arbitrary_game(players):
    rng = np.random.default_rng(players)
    values = rng.normal(size=2 ** players)
    phi = exact_shapley(values)
    np.testing.assert_allclose(phi, brute_force_shapley(lambda c: values[c], players), atol=1e-12)
    assert phi.sum() == pytest.approx(values[-1] - values[0], abs=1e-12)  # efficiency


def test_exact_shapley_refuses_a_table_that_is_not_every_coalition():
    with pytest.raises(ValueError, match="2\\*\\*P"):
        exact_shapley(np.zeros(6))


def test_coalition_masks_switch_whole_sources_and_all_lyrics():
    masks = coalition_masks(n_sources=4, temporal_segments=3, n_text=2)
    assert masks.shape == (32, 4 * 3 + 2)
    row = masks[0b10110]  # drums (bit 1), bass (bit 2) and the lyrics (bit 4)
    audio = row[:12].reshape(3, 4)  # segment-major: (segment, source)
    assert (audio == [0, 1, 1, 0]).all() and (row[12:] == 1).all()
    assert masks[0].sum() == 0 and masks[-1].sum() == masks.shape[1]
    assert coalition_masks(2, 2, 0).shape == (4, 4)  # no lyrics: the sources alone


@pytest.mark.parametrize("link", ["linear", "logistic"])
def test_scored_coalitions_give_the_brute_force_shapley_values(factorization, text_factorization, link):
    if link == "linear":
        model = GlassBoxModel(factorization, AUDIO_PLANT, LINE_PLANT, bias=0.45)
    else:  # strong weights through a sigmoid: the players interact
        model = GlassBoxModel(factorization, {n: 8 * w for n, w in AUDIO_PLANT.items()},
                              {line: 8 * w for line, w in LINE_PLANT.items()}, bias=-0.3, link=link)
    table = score_coalitions(factorization, text_factorization, model, batch_size=7)
    assert table.players == ("vocals", "drums", "bass", "other", "lyrics")
    assert table.costs["model_items"] == 32  # a plain predict_fn: one item per coalition
    direct = direct_values(factorization, text_factorization, model, label=1)
    np.testing.assert_allclose(table.value(1), [direct[c] for c in range(32)], atol=1e-6)
    values = stem_values(table, 1)
    expected = brute_force_shapley(lambda c: direct[c], 5)
    np.testing.assert_allclose([values[p] for p in table.players], expected, atol=1e-6)
    coarse = modality_values(table, 1)
    both, audio_only, lyrics_only, neither = direct[31], direct[15], direct[16], direct[0]
    assert coarse["probabilities"] == pytest.approx(
        {"both": both, "audio_only": audio_only, "lyrics_only": lyrics_only, "neither": neither}, abs=1e-6)
    assert coarse["audio"] == pytest.approx(0.5 * (audio_only - neither + both - lyrics_only), abs=1e-6)
    assert coarse["audio"] + coarse["lyrics"] == pytest.approx(both - neither, abs=1e-6)
    assert coarse["interaction"] == pytest.approx(both - audio_only - lyrics_only + neither, abs=1e-6)
    if link == "linear":  # an additive game: each player's value is its planted total, and no interaction
        planted = {s: sum(w for n, w in AUDIO_PLANT.items() if n.startswith(s + "_")) for s in table.sources}
        assert values == pytest.approx({**planted, "lyrics": sum(LINE_PLANT.values())}, abs=1e-6)
        assert coarse["interaction"] == pytest.approx(0.0, abs=1e-6)
    else:
        assert abs(coarse["interaction"]) > 0.01


def test_a_late_fusion_model_encodes_16_audio_and_2_lyrics_inputs_and_agrees_with_the_plain_path(
        factorization, text_factorization):
    import torch

    from musiclime.models.demo_classifier import DemoClassifier, DemoModelConfig, DemoPredictor

    torch.manual_seed(0)
    model = DemoPredictor(DemoClassifier(DemoModelConfig()), batch_size=8)
    fused = score_coalitions(factorization, text_factorization, model)
    plain = score_coalitions(factorization, text_factorization, lambda texts, audios: model(texts, audios))
    assert (fused.costs["audio_encodings"], fused.costs["lyric_encodings"], fused.costs["fused_rows"]) == (16, 2, 32)
    assert plain.costs["model_items"] == 32
    np.testing.assert_allclose(fused.predictions, plain.predictions, atol=1e-5)


def test_a_song_without_lyrics_has_the_sources_alone(factorization):
    from musiclime import LineIndexedString

    model = GlassBoxModel(factorization, AUDIO_PLANT, bias=0.45)
    table = score_coalitions(factorization, LineIndexedString("[Instrumental]\n"), model)
    assert table.players == ("vocals", "drums", "bass", "other") and len(table.predictions) == 16
    coarse = modality_values(table, 1)
    assert coarse["lyrics"] == 0 and coarse["interaction"] == 0 and coarse["audio_share"] == 1
    assert coarse["audio"] == pytest.approx(sum(AUDIO_PLANT.values()), abs=1e-6)
    assert stem_values(table, 1)["lyrics"] == 0.0


def test_consistency_compares_each_stems_fine_weights_with_its_exact_value():
    table = CoalitionTable(("a", "b"), ("a", "b"), np.array([[0.5, 0.5], [0.4, 0.6], [0.3, 0.7], [0.2, 0.8]]),
                           {"model_items": 4})
    fine = np.array([0.05, 0.2, 0.04, 0.1])  # 2 segments x sources (a, b), segment-major
    modality, stems = attribution_blocks(table, [1], {1: fine}, temporal_segments=2, n_audio_columns=4)
    entry = stems["labels"]["1"]
    assert entry["a"] == pytest.approx(0.1) and entry["b"] == pytest.approx(0.2)
    consistency = entry["consistency"]
    assert consistency["fine_sums"] == pytest.approx({"a": 0.09, "b": 0.3})
    assert consistency["gaps"] == pytest.approx({"a": -0.01, "b": 0.1})
    assert consistency["max_abs_gap"] == pytest.approx(0.1)
    assert modality["labels"]["1"]["audio"] == pytest.approx(0.3) and modality["predictions"] == 2
    assert stems["predictions"] == 4 and stems["players"] == ["a", "b"]


@pytest.mark.parametrize("modality", ["both", "audio", "lyrical"])
def test_every_explanation_records_the_exact_attribution(factorization, text_factorization, modality):
    model = GlassBoxModel(factorization, AUDIO_PLANT, LINE_PLANT, bias=0.45)
    explainer = MusicLIMEExplainer(random_state=0, progress=False, distance_scale=100)
    exp = explainer.explain_instance_with_factorization(factorization, text_factorization, model, num_samples=600,
                                                        labels=(1,), modality=modality)
    coarse = exp.metadata["modality_attribution"]["labels"]["1"]
    audio_total, lyrics_total = sum(AUDIO_PLANT.values()), sum(LINE_PLANT.values())
    assert coarse["audio"] == pytest.approx(audio_total, abs=1e-6)  # whatever the explained modality
    assert coarse["lyrics"] == pytest.approx(lyrics_total, abs=1e-6)
    assert coarse["audio_share"] == pytest.approx(abs(audio_total) / (abs(audio_total) + abs(lyrics_total)))
    stems = exp.metadata["stem_attribution"]
    assert stems["predictions"] == 32 and stems["labels"]["1"]["drums"] == pytest.approx(0.30, abs=1e-6)
    gap = stems["labels"]["1"]["consistency"]["max_abs_gap"]
    if modality == "lyrical":
        assert gap is None  # no audio weights to sum
    else:  # a linear model: the full fit's weights of a stem add up to its exact value
        assert gap < 0.02
