"""The stopping rule: rounds of samples until the top-k features are separated by their standard errors."""

import numpy as np
import pytest
import torch

from musiclime import ConfigError, MusicLIMEExplainer
from musiclime.method.scoring.inference import predict_masks
from musiclime.method.modality import FeatureLayout
from musiclime.method.scoring.rounds import predict_until_stable
from musiclime.method.estimation.sampling import sample_masks
from musiclime.method.estimation.robust_fit import Clustering, mask_clusters, robust_fit
from musiclime.method.estimation.stopping import StoppingRule, boundary_test, round_ends
from musiclime.models.demo_classifier import DemoClassifier, DemoModelConfig, DemoPredictor
from musiclime.models.glassbox import GlassBoxModel
from musiclime.tracking.records import explanation_metrics

LEADERS = np.array([0.30, -0.25, 0.20, 0.17, -0.14])


def test_round_ends_grow_to_the_budget_and_keep_pairs_whole():
    rule = StoppingRule(first_round=100, growth=2.0)
    assert round_ends(1000, rule) == [100, 200, 400, 800, 1000]
    assert round_ends(80, rule) == [80]
    odd = StoppingRule(first_round=101, growth=1.5)
    assert all(end % 2 == 0 for end in round_ends(1000, odd, pairs=True))
    assert round_ends(1001, odd, pairs=True)[-1] == 1001


def test_bad_settings_name_their_config_key():
    with pytest.raises(ConfigError, match="explain.stopping.growth"):
        StoppingRule(growth=1.0)
    with pytest.raises(ConfigError, match="explain.stopping.top_k"):
        StoppingRule.from_config({"enabled": True, "top_k": 0})
    assert StoppingRule.from_config({"enabled": False, "top_k": 0}) is None
    with pytest.raises(ConfigError, match="explain.stopping.z: replaced by explain.stopping.alpha"):
        StoppingRule.from_config({"enabled": True, "z": 2.5})
    with pytest.raises(ConfigError, match="explain.stopping.alpha"):
        StoppingRule(alpha=1.0)
    assert StoppingRule.from_config(None) is None


def additive_target(masks: np.ndarray, leaders: np.ndarray, seed: int = 0) -> np.ndarray:
    """Leaders' weights on the first columns, small weights elsewhere, and a pairwise interaction."""
    rest = np.random.RandomState(seed).uniform(-0.03, 0.03, masks.shape[1] - len(leaders))
    weights = np.concatenate([leaders, rest])
    return 0.4 + masks @ weights + 0.08 * masks[:, 10] * masks[:, 11]


def test_clear_leaders_are_stable_and_a_tie_at_the_boundary_is_not():
    layout = FeatureLayout("audio", 24, 0)
    rule = StoppingRule(top_k=5, alpha=0.1)
    masks = sample_masks(400, 24, 0)
    test = boundary_test(masks, additive_target(masks, LEADERS), layout, rule)
    assert set(test.top) == set(range(5)) and test.stable
    np.testing.assert_allclose(test.weights[:5], LEADERS, atol=0.02)
    # every feature after the fourth of equal size: no number of samples separates a top set of 5 or more
    tied = np.concatenate([LEADERS[:4], np.full(20, 0.14)])
    masks = sample_masks(4000, 24, 0)
    noise = 0.01 * np.random.default_rng(0).standard_normal(len(masks))
    test = boundary_test(masks, 0.2 + masks @ tied + noise, layout, rule)
    assert not test.stable and test.certified_top_k == 4
    # a round with fewer distinct masks than three per parameter is not judged, however clear it looks
    masks = sample_masks(60, 24, 0)
    assert boundary_test(masks, additive_target(masks, LEADERS), layout, rule).separation == 0.0


def test_a_mask_and_its_complement_share_a_cluster_and_grid_rows_share_their_masks():
    layout = FeatureLayout("both", 6, 4)
    masks = sample_masks(64, 10, 0, "factorial_paired", audio_columns=6)
    clusters = mask_clusters(masks.astype(np.int8), layout)
    # a grid (both modalities' masks repeat): the two one-way parts, the intersection not subtracted
    assert [(c.sign, c.parameters) for c in clusters] == [(1, 7), (1, 5)]
    audio, lyrics = (c.labels for c in clusters)
    for labels, part in ((audio, masks[:, :6]), (lyrics, masks[:, 6:])):
        canonical = {tuple(row) if row[0] else tuple(1 - row) for row in part}
        assert labels.max() + 1 == len(canonical)
        first, complement = part[0], 1 - part[0]
        assert len(set(labels[(part == first).all(1) | (part == complement).all(1)])) == 1
    assert len(mask_clusters(masks[:, :6].astype(np.int8), FeatureLayout("audio", 6, 0))) == 1
    # random masks of many audio components: each audio mask once, the two-way estimator with the intersection
    masks = sample_masks(300, 30, 0, "paired")
    clusters = mask_clusters(masks.astype(np.int8), FeatureLayout("both", 24, 6))
    assert [(c.sign, c.parameters) for c in clusters] == [(1, 25), (1, 7), (-1, 31)]
    audio, lyrics, joint = (c.labels for c in clusters)
    assert joint.max() + 1 == len(set(zip(audio, lyrics)))  # the intersection of the two clusterings


def test_rows_that_share_an_audio_mask_count_as_one_draw():
    """On a factorial grid, an audio nonlinearity repeats across a mask's rows: the clustered standard
    errors see that, the row-wise ones would claim a precision the design does not have."""
    layout = FeatureLayout("both", 12, 6)
    masks = sample_masks(900, 18, 0, "factorial", audio_columns=12).astype(np.float64)
    target = 0.5 + masks @ np.linspace(-0.1, 0.1, 18) + 0.2 * masks[:, 0] * masks[:, 1] * masks[:, 2]
    weights = np.ones(len(masks))
    clustered = robust_fit(masks, target, weights, mask_clusters(masks.astype(np.int8), layout)).covariance
    rowwise = robust_fit(masks, target, weights, [Clustering(1, np.arange(len(masks)), 19)]).covariance
    assert np.all(np.diag(clustered)[:12] > 4 * np.diag(rowwise)[:12])


def test_rounds_stop_at_the_first_stable_one(factorization, text_factorization):
    names = factorization.get_ordered_component_names()
    model = GlassBoxModel(factorization, {n: w for n, w in zip(names, LEADERS)}, bias=0.3)
    layout = FeatureLayout("audio", len(names), 0)
    masks = sample_masks(2000, layout.num_features, 0)
    rule = StoppingRule(first_round=200, method="sequential")
    result, record = predict_until_stable(factorization, text_factorization, masks, layout, model, rule, label=1,
                                          ends=round_ends(len(masks), rule), batch_size=50, progress=False)
    assert record.stopped == "stable" and record.samples_used == 200 == len(result.predictions)
    assert set(record.rounds[0]["top"]) == set(range(5))
    # sequential, at the first look's share of alpha: 200 of 2,000 rows, alpha 0.01 (two-sided 2.576)
    assert record.rounds[0]["alpha"] == pytest.approx(0.01) and record.look_fraction == pytest.approx(0.1)
    assert record.rounds[0]["separation"] >= record.rounds[0]["critical_z"] == pytest.approx(2.5758)
    whole = predict_masks(factorization, text_factorization, masks[:200], layout, model, batch_size=50,
                          progress=False)
    np.testing.assert_allclose(result.predictions, whole.predictions, atol=1e-9)


def test_a_late_fusion_model_encodes_each_input_once_across_rounds(factorization, text_factorization):
    torch.manual_seed(0)
    model = DemoPredictor(DemoClassifier(DemoModelConfig()), batch_size=8)
    layout = FeatureLayout("both", 16, text_factorization.num_words())
    masks = sample_masks(400, layout.num_features, 0, "factorial", audio_columns=16)
    never = StoppingRule(first_round=50, growth=2.0, alpha=1e-12)
    result, record = predict_until_stable(factorization, text_factorization, masks, layout, model, never, label=1,
                                          ends=round_ends(len(masks), never), batch_size=8, progress=False)
    assert record.stopped == "budget" and [r["rows"] for r in record.rounds] == [50, 100, 200, 400]
    once = predict_masks(factorization, text_factorization, masks, layout, model, batch_size=8, progress=False)
    np.testing.assert_allclose(result.predictions, once.predictions, atol=1e-6)
    assert result.costs() == once.costs()
    assert result.audio_encodings == len(np.unique(masks[:, :16], axis=0)) < 60
    # the grid's rows come corner first: the first round uses few of each modality's masks
    first = masks[:50]
    assert len(np.unique(first[:, :16], axis=0)) <= 12 and len(np.unique(first[:, 16:], axis=0)) <= 12


def test_the_explainer_fits_the_rows_the_rule_scored(factorization, text_factorization):
    names = factorization.get_ordered_component_names()
    model = GlassBoxModel(factorization, {n: w for n, w in zip(names, LEADERS)}, bias=0.3)
    explainer = MusicLIMEExplainer(random_state=0, progress=False, sampler="paired",
                                   stopping=StoppingRule(first_round=101, growth=2.0))
    exp = explainer.explain_instance_with_factorization(factorization, text_factorization, model, num_samples=3000,
                                                        labels=None, modality="audio")
    assert exp.metadata["stopping"]["stopped"] == "stable"
    assert exp.metadata["samples_used"] == len(exp.data) == len(exp.predictions) == 102  # whole pairs
    assert exp.metadata["parameters"]["num_samples"] == 3000
    assert {f["feature"] for f in exp.get_explanation(1, 5)} == set(names[:5])
    metrics = explanation_metrics(exp)  # what MLflow logs
    assert (metrics["samples_used"], metrics["stopping_stable"], metrics["stopping_rounds"]) == (102, 1.0, 1)
    assert metrics["stopping_separation"] >= StoppingRule().as_dict()["z"]
    assert metrics["stopping_certified_top_k"] == exp.metadata["stopping"]["certified_top_k"] >= 5
    # the rule looked once and stopped: that look had 102 / 3000 of alpha, and so do the explanation's claims
    assert exp.metadata["stopping"]["look_fraction"] == pytest.approx(102 / 3000, rel=1e-4)
    assert exp.metadata["stopping"]["rounds"][0]["alpha"] == pytest.approx(0.1 * 102 / 3000, rel=1e-3)
    certification = exp.metadata["certification"]
    assert certification["alpha"] == 0.1 and certification["tested_at"] == pytest.approx(0.1 * 102 / 3000, rel=1e-3)
    assert "tested at" in certification["correction"]


def test_the_song_page_and_mlflow_say_what_the_rule_decided():
    from musiclime.evidence.pages import call_accounting

    rounds = [{"rows": 250, "separation": 0.8, "top": [1, 2]}, {"rows": 375, "separation": 3.4, "top": [1, 2]}]
    stopping = {"rule": StoppingRule(method="sequential").as_dict(), "label": 1, "rounds": rounds, "samples_used": 375,
                "stopped": "stable"}
    rows = dict(call_accounting({"samples_used": 375, "stopping": stopping, "parameters": {"sampler": "paired"}}))
    assert rows["samples scored and fitted"] == "375"
    assert rows["stopping rule"] == "top-5 stable after 2 rounds (3.40 >= 1.64 standard errors)"
    spent = dict(call_accounting({"stopping": {**stopping, "stopped": "budget", "rounds": rounds[:1]}}))
    assert spent["stopping rule"] == "budget spent, top-5 not yet stable (0.80 < 1.64 standard errors)"
    bonferroni = {**stopping, "rule": StoppingRule(method="bonferroni").as_dict()}
    assert dict(call_accounting({"stopping": bonferroni}))["stopping rule"] == \
        "top-5 stable after 2 rounds (3.40 >= 3.47 standard errors)"
    assert "stopping rule" not in dict(call_accounting({"samples_used": 300}))


def test_a_certified_larger_top_set_ends_the_rule_though_ranks_k_and_k_plus_1_tie():
    """Leaders 0.30, 0.25, 0.20, 0.20 (a tie at ranks 3 and 4), then zeros: with Bonferroni no top-3 is
    certain, the top-4 set is; the sequential test certifies order, so it stops at rank 3."""
    layout = FeatureLayout("audio", 12, 0)
    masks = sample_masks(2000, 12, 0)
    target = 0.3 + masks @ np.array([0.30, -0.25, 0.20, 0.20] + [0.0] * 8)
    target += 0.01 * np.random.default_rng(0).standard_normal(len(masks))
    test = boundary_test(masks, target, layout, StoppingRule(top_k=3, num_features=12, method="bonferroni"))
    assert test.stable and test.certified_top_k == 4 and set(test.top) <= {0, 1, 2, 3}
    assert not boundary_test(masks, target, layout, StoppingRule(top_k=5, num_features=12, method="bonferroni")).stable
    sequential = boundary_test(masks, target, layout, StoppingRule(top_k=3, num_features=12, method="sequential"))
    assert not sequential.stable and sequential.certified_top_k == 2 and sequential.separation < sequential.critical
    assert boundary_test(masks, target, layout, StoppingRule(top_k=2, num_features=12)).stable


def test_the_rule_s_method_names_its_config_key():
    with pytest.raises(ConfigError, match="explain.stopping.method"):
        StoppingRule(method="hochberg")
    assert StoppingRule().as_dict()["method"] == "holm" and StoppingRule().as_dict()["z"] == 1.64  # two-sided


EIGHT_LINES = ["first line of the verse", "second line with words", "sing the chorus loud", "a bridge",
               "another verse begins", "the hook comes back", "an outro fades", "last line of the song"]


@pytest.mark.parametrize("audio_scale, required, spends", [(1.0, ["audio", "lyrics"], True), (0.01, ["lyrics"], False)])
def test_the_rule_spends_samples_on_a_modality_only_where_it_matters(factorization, audio_scale, required, spends):
    """modality_top_k: a modality whose exact effect is resolvable must have its own top ranks certified, so
    the rounds go on until the audio ranking is resolved; an audio the model barely uses costs no sample."""
    from musiclime import LineIndexedString

    names = factorization.get_ordered_component_names()
    text = LineIndexedString("\n".join(EIGHT_LINES))
    audio = {n: audio_scale * w for n, w in zip(names[:4], (0.6, 0.45, 0.3, 0.15))}
    model = GlassBoxModel(factorization, audio, dict(zip(EIGHT_LINES, (2.0, 1.2, 0.6))), bias=-1.5, link="logistic")
    used = {}
    for modality_top_k in (0, 3):
        rule = StoppingRule(top_k=1, first_round=60, growth=1.5, modality_top_k=modality_top_k)
        explainer = MusicLIMEExplainer(random_state=0, progress=False, stopping=rule)
        exp = explainer.explain_instance_with_factorization(factorization, text, model, num_samples=3000, labels=None)
        record = exp.metadata["stopping"]
        assert record["stopped"] == "stable"
        used[modality_top_k] = record["samples_used"]
    assert record["rule"]["required_modalities"] == required
    last = record["rounds"][-1]["modality_certified"]
    assert set(last) == set(required) and all(depth >= 3 for depth in last.values())
    if spends:  # the audio's boundary was uncertain at first: more rounds, every one recording both depths
        assert used[3] > used[0] and record["rounds"][0]["modality_certified"]["audio"] < 3
    else:
        assert used[3] == used[0]


def test_modality_top_k_names_its_key_and_stays_out_of_default_paths():
    from musiclime.pipeline.plan import masks_slice

    with pytest.raises(ConfigError, match="explain.stopping.modality_top_k"):
        StoppingRule(modality_top_k=-1)
    explain = {"num_samples": 300, "temporal_segments": 10, "modality": "both", "lyrics_unit": "line",
               "sampler": "random", "seed": 0,
               "stopping": {"enabled": True, "top_k": 5, "method": "holm", "modality_top_k": 0}}
    assert "modality_top_k" not in masks_slice(explain)["stopping"]
    explain["stopping"]["modality_top_k"] = 3
    assert masks_slice(explain)["stopping"]["modality_top_k"] == 3


def test_look_fractions_spend_alpha_once_over_the_looks():
    from musiclime.method.estimation.stopping import claim_level, look_fractions

    ends = round_ends(4000, StoppingRule())
    fractions = look_fractions(ends)
    assert ends[0] == 250 and ends[-1] == 4000 and sum(fractions) == pytest.approx(1.0)
    assert fractions[0] == pytest.approx(250 / 4000) and fractions[-1] == pytest.approx((4000 - ends[-2]) / 4000)
    assert claim_level(0.1, None) == 0.1 and claim_level(0.1, {"look_fraction": 0.25}) == pytest.approx(0.025)
    with pytest.raises(ConfigError, match="explain.stopping.spending"):
        StoppingRule(spending="pocock")


@pytest.mark.slow
def test_claims_after_the_rule_stops_hold_at_alpha():
    """A linear glass box whose 5th and 6th features tie (0.3, 0.25, 0.2, 0.15, 0.1, 0.1, four zeros), a
    rule asking for 5 ranks, 200 mask seeds: the order of ranks 5 and 6 cannot be certified, so every
    stop on it is a wrong claim. Testing each of the 8 looks at the full alpha and certifying the
    explanation at alpha on the rows where the rule stopped (before) is wrong about 0.28 of the time
    with ``sequential``; spending alpha over the looks keeps every method within alpha plus two
    binomial standard errors."""
    from musiclime.method.estimation.certification import certify_fit
    from musiclime.method.estimation.stopping import claim_level, look_fractions

    truth = np.array([0.3, 0.25, 0.2, 0.15, 0.1, 0.1, 0.0, 0.0, 0.0, 0.0])
    layout = FeatureLayout("audio", 10, 0)
    seeds, bound = 200, 0.1 + 2 * np.sqrt(0.09 / 200)

    def wrong_share(method: str, spend: bool) -> float:
        rule = StoppingRule(top_k=5, num_features=10, method=method)
        wrong = 0
        for seed in range(seeds):
            masks = sample_masks(4000, 10, seed)
            target = 0.2 + masks @ truth + 0.1 * np.random.default_rng(seed).standard_normal(len(masks))
            ends = round_ends(len(masks), rule)
            for end, fraction in zip(ends, look_fractions(ends) if spend else [1.0] * len(ends)):
                if boundary_test(masks[:end], target[:end], layout, rule, alpha=0.1 * fraction).stable:
                    break
            level = claim_level(0.1, {"look_fraction": fraction})
            _, result = certify_fit(masks[:end], target[:end], np.ones(end), layout, range(10), level, method)
            size = np.abs(truth)[list(result.ranking)]
            k = result.certified_top_k
            if method == "sequential":
                wrong += any(size[r] <= size[r + 1:].max() for r in range(k))
            else:
                wrong += k > 0 and size[:k].min() <= size[k:].max()
        return wrong / seeds

    assert wrong_share("sequential", spend=False) > bound  # the looks are a real risk on this box
    for method in ("holm", "sequential"):
        assert wrong_share(method, spend=True) <= bound, method
