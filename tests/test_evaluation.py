"""Trust metrics on the glass-box model: stability, faithfulness (deletion/insertion AOPC), randomization."""

from __future__ import annotations

import json
from pathlib import Path
import time

import numpy as np
import pytest
import torch

from musiclime.evidence.trust import aopc, jaccard, perturbation_masks, verdicts
from musiclime.evidence.trust.randomization import within_modality_spearman
from musiclime.pipeline.plan import randomized_models, shuffled_training
from musiclime.pipeline.stages.evaluation import evaluate_song
from musiclime.pipeline.stages.media import write_listenable
from musiclime.models.demo_classifier import (CASCADE_STEPS, DemoClassifier, DemoModelConfig, DemoModelError,
                                              load_demo_model, load_randomized_demo_predict_fn, save_demo_model)
from musiclime.models.glassbox import randomized_glassbox_predict_fn
from musiclime.pipeline.stages import load_factorization

from .evidence_helpers import (AUDIO_PLANT, LINE_PLANT, SEGMENTS, explain_song, glassbox_slice, separate_song,
                               write_song)

EVALUATION = {"stability": True, "faithfulness": True, "randomization": True, "faithfulness_steps": 8,
              "faithfulness_random_draws": 4, "faithfulness_seed": 0}


@pytest.fixture(scope="module")
def song_run(tmp_path_factory):
    root = tmp_path_factory.mktemp("eval")
    song = write_song(root / "songs", "s0", seed=3)
    stems = separate_song(song, root / "sep")
    seeds = [explain_song(song, stems, root / f"seed{s}" / "explanation.json", seed=s, num_samples=300)
             for s in range(3)]
    randomized = randomized_glassbox_predict_fn(str(stems), SEGMENTS, AUDIO_PLANT, LINE_PLANT, bias=0.45, seed=11)
    randomized_json = explain_song(song, stems, root / "randomized" / "explanation.json", predict_fn=randomized,
                                   num_samples=300)
    return {"root": root, "song": song, "stems": stems, "seeds": seeds, "randomized": randomized_json}


def test_curve_masks_and_aopc_by_hand():
    deletion, insertion = perturbation_masks(np.array([2, 0, 1, 3]), steps=2)
    np.testing.assert_array_equal(deletion, [[1, 1, 1, 1], [0, 1, 0, 1], [0, 0, 0, 0]])
    np.testing.assert_array_equal(insertion, 1 - deletion)
    assert aopc(np.array([0.9, 0.5, 0.3]), "deletion") == pytest.approx((0.4 + 0.6) / 2)
    assert aopc(np.array([0.1, 0.5, 0.3]), "insertion") == pytest.approx((0.4 + 0.2) / 2)
    assert jaccard({1, 2, 3}, {2, 3, 4}) == pytest.approx(0.5)


def test_glassbox_evaluation(song_run):
    out = song_run["root"] / "evaluation.json"
    start = time.perf_counter()
    evaluate_song(song_run["seeds"][0], song_run["stems"], glassbox_slice(song_run["stems"]), EVALUATION, out,
                  seed_explanations=song_run["seeds"], randomized_explanations={"model": song_run["randomized"]})
    seconds = time.perf_counter() - start
    doc = json.loads(out.read_text())
    m = doc["metrics"]
    assert set(m) == {"jaccard_top5", "jaccard_top10", "jaccard_top5_content", "kendall_tau", "deletion_aopc",
                      "random_deletion_aopc",
                      "insertion_aopc", "random_insertion_aopc", "randomization_spearman", "n_seeds",
                      "randomization_spearman_audio", "randomization_spearman_lyrics",
                      "randomization_spearman_within_modality", "claims_sets_nested", "claims_leaders_agree",
                      "claims_shares_agree", "claims_pairs"}
    # the explanation order removes the planted positive features first: clearly above random orders
    assert m["deletion_aopc"] > m["random_deletion_aopc"] + 0.1
    assert m["insertion_aopc"] > m["random_insertion_aopc"] + 0.1
    # the glass-box is linear and the fit near exact: the planted features are the top ones for every seed
    assert m["jaccard_top5"] == pytest.approx(1.0) and m["kendall_tau"] > 0.2
    # and what the page claims holds for every pair of the 3 mask seeds: the stability verdict is the claims'
    assert (m["claims_sets_nested"], m["claims_leaders_agree"], m["claims_shares_agree"], m["claims_pairs"]) == (
        1.0, 1.0, 1.0, 3.0)
    [stable] = [v for v in doc["verdicts"] if v["check"] == "stability"]
    assert stable["passed"] and "top-5 Jaccard 1.00, a figure" in stable["evidence"]
    assert not any(v["check"] == "stability_content" for v in doc["verdicts"])
    # a randomized model's explanation correlates weakly with the original's
    assert abs(m["randomization_spearman"]) < 0.4
    assert m["randomization_spearman_within_modality"] is not None
    assert doc["notes"] == [] and doc["model_items"] == 2 * (1 + 4) * (8 + 1)
    assert len(doc["curves"]["deletion"]) == 9 and doc["curves"]["deletion"][0] == pytest.approx(
        0.45 + sum(AUDIO_PLANT.values()) + sum(LINE_PLANT.values()), abs=1e-6)
    print(f"evaluate_song on {len(json.loads(song_run['seeds'][0].read_text())['features'])} features: {seconds:.2f} s")


def test_randomization_averages_over_mask_seeds(song_run):
    """Each seed's randomized explanation is compared with the trained one of the same seed; the metric is the mean."""
    from musiclime.evidence.trust.randomization import randomization_by_modality
    from musiclime.method.explanation import load_explanation

    root = song_run["root"]
    model = randomized_glassbox_predict_fn(str(song_run["stems"]), SEGMENTS, AUDIO_PLANT, LINE_PLANT, bias=0.45,
                                           seed=11)
    randomized = [song_run["randomized"]] + [
        explain_song(song_run["song"], song_run["stems"], root / f"randomized{s}" / "explanation.json", seed=s,
                     predict_fn=model, num_samples=300) for s in (1, 2)]
    out = root / "evaluation_seeds.json"
    evaluate_song(song_run["seeds"][0], song_run["stems"], glassbox_slice(song_run["stems"]),
                  {**EVALUATION, "faithfulness": False, "stability_seeds": 3}, out,
                  seed_explanations=song_run["seeds"], randomized_explanations={"model": randomized})
    doc = json.loads(out.read_text())
    label = doc["label"]
    expected = [randomization_by_modality(load_explanation(t), load_explanation(r), label)["within_modality"]
                for t, r in zip(song_run["seeds"], randomized)]
    assert doc["randomization_per_seed"]["randomization_spearman_within_modality"] == pytest.approx(expected)
    assert doc["metrics"]["randomization_spearman_within_modality"] == pytest.approx(np.mean(expected))
    assert len(set(np.round(expected, 6))) == 3  # three different draws, not one compared three times


def test_randomization_seeds_are_planned_beside_the_stability_seeds():
    from musiclime.pipeline.plan import WorkflowPlan
    from musiclime.pipeline.hydra_configs import compose_sweep

    conf = Path(__file__).resolve().parents[1] / "conf"
    sweep = compose_sweep(conf, None, ["evaluation.randomization_seeds=4", "evaluation.stability_seeds=2"])
    plan = WorkflowPlan.from_sweep(sweep)
    point = next(iter(plan.points))
    compared = plan.comparison_explanations(next(iter(plan.songs)), point)
    assert len(compared["seeds"]) == 3  # the trained model at seeds +1..+3 (stability reads the first)
    assert len(compared["randomized"]["model"]) == 4 and len(set(compared["randomized"]["model"])) == 4


def test_skips_are_noted(song_run):
    out = song_run["root"] / "evaluation_skips.json"
    evaluate_song(song_run["seeds"][0], song_run["stems"], glassbox_slice(song_run["stems"]),
                  {**EVALUATION, "faithfulness": False}, out)
    doc = json.loads(out.read_text())
    assert doc["metrics"] == {} and any("randomized_predict_fn" in n for n in doc["notes"])
    assert randomized_models({"name": "m", "predict_fn": {"_target_": "x"}}, EVALUATION) == {}


def test_within_modality_spearman_by_hand():
    # audio a = (1, 2, 3) vs b = (1, 2, 3); lyrics a = (10, 20) vs b = (20, 10): the scale split (lyrics
    # 10x larger) gives Spearman 0.9 over all five; within modality the centred, scaled ranks are
    # audio (-0.5, 0, 0.5) both, lyrics a (-0.5, 0.5), b (0.5, -0.5): sum of products 0.5 - 0.5 = 0,
    # norms sqrt(1.0) each -> 0
    a, b = np.array([1, 2, 3, 10, 20.0]), np.array([1, 2, 3, 20, 10.0])
    groups = np.array([True, True, True, False, False])
    assert within_modality_spearman(a, b, groups) == pytest.approx(0.0)
    assert within_modality_spearman(a, a, groups) == pytest.approx(1.0)
    # audio agrees, lyrics all tied in b: numerator 0.5 (audio), norms sqrt(0.5 + 0.5) and sqrt(0.5)
    assert within_modality_spearman(a, np.array([1, 2, 3, 5, 5.0]), groups) == pytest.approx(0.5 / np.sqrt(0.5))
    assert np.isnan(within_modality_spearman(a, np.zeros(5), groups))


def test_randomization_variants_are_planned_from_the_configs():
    model = {"name": "m", "predict_fn": {"_target_": "f"}, "requires": ["w.pt"], "batch_size": 4,
             "memory_budget_mb": 64, "randomized_predict_fn": {"_target_": "r", "seed": 1},
             "randomization_cascade": ["fusion_head", "embeddings"],
             "shuffled_labels_predict_fn": {"_target_": "f", "weights_dir": "shuffled"},
             "shuffled_labels_requires": ["shuffled/model.pt"]}
    everything = {"randomization": True, "randomization_cascade": True, "data_randomization": True}
    variants = randomized_models(model, everything)
    assert list(variants) == ["model", "cascade_fusion_head", "cascade_embeddings", "data"]
    assert variants["cascade_embeddings"]["predict_fn"] == {"_target_": "r", "seed": 1, "layers": "embeddings"}
    assert variants["model"]["predict_fn"] == {"_target_": "r", "seed": 1} and variants["model"]["requires"] == ["w.pt"]
    assert variants["data"]["requires"] == ["shuffled/model.pt"] and variants["data"]["name"] == "m-shuffled-labels"
    assert list(randomized_models(model, {**everything, "randomization_cascade": False})) == ["model", "data"]
    assert shuffled_training({"seed": 3, "kwargs": {"epochs": 2}}) == {"seed": 3, "kwargs": {"epochs": 2,
                                                                                         "shuffle_labels": True}}


def test_missing_variants_are_noted(song_run):
    out = song_run["root"] / "evaluation_variants.json"
    evaluate_song(song_run["seeds"][0], song_run["stems"], glassbox_slice(song_run["stems"]),
                  {**EVALUATION, "faithfulness": False, "stability": False, "randomization_cascade": True,
                   "data_randomization": True}, out,
                  randomized_explanations={"cascade_head": song_run["randomized"]})
    doc = json.loads(out.read_text())
    assert set(doc["metrics"]) == {f"cascade_head_spearman{p}" for p in ("", "_audio", "_lyrics", "_within_modality")}
    assert len(doc["notes"]) == 2
    assert "randomized_predict_fn" in doc["notes"][0] and "shuffled_labels_predict_fn" in doc["notes"][1]


def test_listenable_parts_sum_to_the_reconstruction(song_run, tmp_path):
    import soundfile as sf

    top, removed, mix, meta = write_listenable(song_run["seeds"][0], song_run["stems"], 2, tmp_path / "top.wav",
                                               tmp_path / "removed.wav", tmp_path / "mix.wav", tmp_path / "top.json")
    fact, _ = load_factorization(song_run["stems"], SEGMENTS)
    a, b = sf.read(top, dtype="float32")[0], sf.read(removed, dtype="float32")[0]
    np.testing.assert_allclose(a + b, fact.reconstruction(), atol=1e-6)
    chosen = json.loads(meta.read_text())["components"]
    assert [c["component"] for c in chosen] == ["drums_T2", "bass_T4"]  # the two largest planted positives
    start, stop = fact.boundaries[2], fact.boundaries[3]
    np.testing.assert_allclose(a[start:stop], fact.stems[1, start:stop], atol=1e-7)  # drums in segment 2 only


def test_listenable_components_outside_the_lime_selection(song_run, tmp_path):
    """The top components come from the full fit (every component weighed): one LIME did not select is
    still named with its weight (a song_media job of the workflow failed on this)."""
    from musiclime.method.explanation import load_explanation

    explanation = load_explanation(song_run["seeds"][0])
    label = explanation.predicted_label
    full = explanation.metadata["full_fit"]["labels"][str(label)]["weights"]
    audio = [i for i, f in enumerate(explanation.features) if f["type"] == "audio"]
    best = max(audio, key=lambda i: full[i])
    explanation.local_exp[label] = [(i, w) for i, w in explanation.local_exp[label] if i != best]
    path = explanation.save_to_json(tmp_path / "explanation.json", num_features=20)
    *_, meta = write_listenable(path, song_run["stems"], 1, tmp_path / "top.wav", tmp_path / "removed.wav",
                                out_meta=tmp_path / "top.json")
    doc = json.loads(meta.read_text())
    assert doc["weights"] == "full_fit"
    name = explanation.features[best]["feature"]
    assert doc["components"] == [{"component": name, "weight": pytest.approx(full[best])}]


def test_randomized_demo_model_keeps_architecture_and_statistics(tmp_path):
    torch.manual_seed(0)
    model = DemoClassifier(DemoModelConfig(n_mels=32, conv_channels=[4, 8], text_buckets=64))
    model.mel_mean.fill_(0.5)
    save_demo_model(model, tmp_path)
    trained = load_demo_model(tmp_path)
    first = load_randomized_demo_predict_fn(str(tmp_path), seed=1)
    again = load_randomized_demo_predict_fn(str(tmp_path), seed=1)
    other = load_randomized_demo_predict_fn(str(tmp_path), seed=2)
    for name, value in trained.state_dict().items():
        if name.startswith("mel_"):
            assert torch.equal(first.model.state_dict()[name], value)
        else:
            assert not torch.equal(first.model.state_dict()[name], value), name
            assert torch.equal(first.model.state_dict()[name], again.model.state_dict()[name])
    assert not torch.equal(first.model.classifier.weight, other.model.classifier.weight)
    audio = np.random.default_rng(0).standard_normal((2, 8000)).astype(np.float32)
    probs = first(["la la", "x"], audio)
    assert probs.shape == (2, 2) and np.allclose(probs.sum(1), 1)


def test_cascading_randomization_reinitialises_from_the_top(tmp_path):
    torch.manual_seed(0)
    save_demo_model(DemoClassifier(DemoModelConfig(n_mels=32, conv_channels=[4, 8], text_buckets=64)), tmp_path)
    trained = load_demo_model(tmp_path).state_dict()
    changed = {}
    for layers in CASCADE_STEPS:
        state = load_randomized_demo_predict_fn(str(tmp_path), seed=1, layers=layers).model.state_dict()
        changed[layers] = {name.split(".")[0] for name, value in state.items() if not torch.equal(value, trained[name])}
    head = {"classifier", "audio_classifier", "text_classifier"}
    assert changed["fusion_head"] == head
    assert changed["embeddings"] == head | {"audio_head", "text_head"}
    assert changed["all"] == head | {"audio_head", "text_head", "conv"}
    with pytest.raises(DemoModelError, match="model.randomized_predict_fn.layers"):
        load_randomized_demo_predict_fn(str(tmp_path), seed=1, layers="encoders")


def test_verdicts_say_whether_each_metric_passes():
    metrics = {"jaccard_top5": 0.39, "deletion_aopc": 0.25, "random_deletion_aopc": 0.12,
               "randomization_spearman_within_modality": -0.12, "cascade_fusion_head_spearman_within_modality": 0.61,
               "data_randomization_spearman_within_modality": None, "shap_jaccard_top5": 0.8,
               "shap_deletion_aopc": 0.15}
    found = {v.check: v for v in verdicts(metrics)}
    assert list(found) == ["stability", "faithfulness", "randomization", "cascade_fusion_head", "shap_stability",
                           "shap_faithfulness"]
    assert (found["stability"].passed, found["stability"].label) == (False, "not stable")
    assert found["stability"].evidence == "top-5 Jaccard 0.39 < 0.6"
    assert found["faithfulness"].passed and "margin +0.130 >= 0.1" in found["faithfulness"].evidence
    assert found["randomization"].label == "passes the randomization check"
    assert found["cascade_fusion_head"].label == "fails the cascade check (fusion_head)"
    # the second opinion is judged against the shared random orders: 0.15 - 0.12 < 0.1
    assert found["shap_stability"].passed and not found["shap_faithfulness"].passed
    assert verdicts({}) == []
    # where the claims were checked, they give the stability verdict and the Jaccard index is a figure
    claims = {"jaccard_top5": 0.39, "jaccard_top5_content": 0.4, "claims_sets_nested": 1.0,
              "claims_leaders_agree": 1.0, "claims_shares_agree": 1.0, "claims_pairs": 3.0}
    [stable] = verdicts(claims)
    assert (stable.check, stable.passed, stable.label) == ("stability", True, "stable")
    assert stable.evidence == ("certified sets nested 1.00, named leaders agree 1.00, shares agree 1.00 (1 = every "
                               "pair) over 3 pairs of mask seeds; top-5 Jaccard 0.39, a figure")
    [unstable] = verdicts({**claims, "claims_sets_nested": 2 / 3})
    assert not unstable.passed and "certified sets nested 0.67" in unstable.evidence
    # copies of a lyric line in the top-5: the content-level verdict shows when it differs
    [own, content] = verdicts({"jaccard_top5": 0.43, "jaccard_top5_content": 1.0})
    assert (own.label, content.check, content.label) == ("not stable", "stability_content", "stable in content")


def test_copies_of_a_lyric_line_count_as_one_in_content_stability():
    from musiclime.evidence.trust import stability
    from musiclime.method.explanation import MusicLIMEExplanation

    features = ([{"type": "audio", "feature": f"drums_T{i}", "index": i} for i in range(4)]
                + [{"type": "lyrics", "feature": "la la la", "index": i} for i in range(3)])

    def explained(order):  # the top-5 in ``order``: 4 audio components and one copy of the chorus line
        explanation = MusicLIMEExplanation(None, None, np.ones((1, 7)), np.array([[0.2, 0.8]]), modality="both",
                                           features=features, probabilities_original=np.array([0.2, 0.8]))
        explanation.local_exp = {1: [(i, 1.0 - 0.1 * rank) for rank, i in enumerate(order)]}
        return explanation

    # seeds disagree only on which copy of "la la la" (features 4, 5, 6) is fifth
    result = stability([explained([0, 1, 2, 3, 4]), explained([0, 1, 2, 3, 5]), explained([0, 1, 2, 3, 6])], 1)
    assert result["jaccard_top5"] == pytest.approx(4 / 6)  # 4 shared of 6
    assert result["jaccard_top5_content"] == pytest.approx(1.0)


def test_second_opinion_is_evaluated_only_where_the_masks_support_it(song_run, tmp_path):
    """Kernel SHAP's trust metrics (and so its verdicts) need 2 effective rows per feature; below that,
    evaluate skips them and says why in the document and its notes."""
    def with_kernel_shap(path, rows):
        document = json.loads(path.read_text())
        [(label, entry)] = document["metadata"]["full_fit"]["labels"].items()
        weights = [[i, w] for i, w in sorted(enumerate(entry["weights"]), key=lambda item: -abs(item[1]))]
        document["metadata"]["alternative_surrogate"] = {"method": "kernel_shap", "labels": {label: {
            "intercept": 0.4, "score": 0.9, "local_prediction": 0.8, "weights": weights}}}
        document["metadata"]["kernel_shap_effective_samples"] = rows
        out = tmp_path / f"{rows:g}" / path.parent.name / "explanation.json"
        out.parent.mkdir(parents=True)
        out.write_text(json.dumps(document))
        return out

    only_stability = {**EVALUATION, "faithfulness": False, "randomization": False}
    for rows, shown in ((30.0, False), (500.0, True)):
        seeds = [with_kernel_shap(p, rows) for p in song_run["seeds"]]
        out = tmp_path / f"evaluation-{rows:g}.json"
        evaluate_song(seeds[0], song_run["stems"], glassbox_slice(song_run["stems"]), only_stability, out,
                      seed_explanations=seeds)
        doc = json.loads(out.read_text())
        assert doc["second_opinion"]["shown"] is shown
        assert ("shap_jaccard_top5" in doc["metrics"]) is shown
        assert any(v["check"] == "shap_stability" for v in doc["verdicts"]) is shown
        assert any("leave 30 effective rows of 300 (needs 58" in n for n in doc["notes"]) is not shown
