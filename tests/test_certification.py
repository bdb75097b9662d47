"""Certified ranks: the largest top-k set separated from the rest at a family-wise error level."""

import logging
from statistics import NormalDist

import numpy as np
import pytest

from musiclime import ConfigError, LineIndexedString, MusicLIMEExplainer
from musiclime.method.estimation.certification import (certification_block, certify_ranking, certify_weights, check_alpha, unjudged,
                                            correction_text, critical_z)
from musiclime.method.explanation_views import certification_of, full_fit_weights
from musiclime.method.estimation.full_fit import fit_every_feature, kernel_weights
from musiclime.method.modality import FeatureLayout
from musiclime.method.estimation.sequential_ranks import conditional_pair_p
from musiclime.method.estimation.sampling import sample_masks
from musiclime.models.glassbox import GlassBoxModel

EIGHT_LINES = ["first line of the verse", "second line with words", "sing the chorus loud", "a bridge",
               "another verse begins", "the hook comes back", "an outro fades", "last line of the song"]


def test_a_hand_computed_ranking_of_three():
    """Bonferroni: w = (0.5, -0.3, 0.1), variances 0.01: gaps of 0.2 are 1.41 standard errors, 0.4 is
    2.83; with three two-sided pair tests at alpha 0.1 each needs Phi^-1(1 - 0.1/6) = 2.13."""
    weights = np.array([0.1, 0.5, -0.3])  # columns 0, 1, 2 ranked 1, 2, 0
    assert critical_z(3, 0.1, "bonferroni") == pytest.approx(NormalDist().inv_cdf(1 - 0.1 / 6))
    independent = certify_weights(weights, np.eye(3) * 0.01, 0.1, method="bonferroni")
    assert independent.ranking == (1, 2, 0) and independent.tests == 3
    np.testing.assert_allclose(independent.separations, [0.2 / np.sqrt(0.02)] * 2)
    assert independent.certified_top_k == 0 and independent.tied_at_boundary == (1, 2)
    # w_1 and w_2 negatively correlated: their magnitudes move together (signs differ), the gap of 0.2
    # then has variance 0.01 + 0.01 - 2 * 0.009 and is 4.47 standard errors
    covariance = np.eye(3) * 0.01
    covariance[1, 2] = covariance[2, 1] = -0.009
    correlated = certify_weights(weights, covariance, 0.1, method="bonferroni")
    assert correlated.separations[0] == pytest.approx(0.4 / np.sqrt(0.02))  # min(4.47, 2.83)
    assert correlated.certified_top_k == 1 and correlated.tied_at_boundary == (2, 0)
    assert correlated.separated(1) and not correlated.separated(2)
    # a stricter level certifies nothing: 2.83 < Phi^-1(1 - 0.001/6) = 3.59
    assert certify_weights(weights, covariance, 0.001, method="bonferroni").certified_top_k == 0
    assert correlated.as_dict()["method"] == "bonferroni" and "p_values" not in correlated.as_dict()


def test_bonferroni_certifies_the_largest_separated_set_even_past_a_tie():
    """Ranks 2 and 3 tie; ranks 1 and 3 are each far from the rest: top-1 and top-3 are certified, the
    answer is the larger; below rank 3 everything ties."""
    weights = np.array([1.0, 0.6, 0.59, 0.1, 0.09, 0.08])
    result = certify_weights(weights, np.eye(6) * 1e-4, 0.1, method="bonferroni")
    assert result.separated(1) and not result.separated(2) and result.separated(3)
    assert result.certified_top_k == 3 and result.tied_at_boundary == (3, 4, 5)
    assert certify_weights(weights[:2], np.eye(2) * 1e-4, 0.1,
                           method="bonferroni").tied_at_boundary == ()  # k = m - 1: no group


@pytest.mark.parametrize("alpha", [0, 1, -0.1, 1.5])
def test_alpha_must_lie_between_0_and_1(alpha):
    with pytest.raises(ConfigError, match=r"explain\.certification\.alpha"):
        check_alpha(alpha)
    with pytest.raises(ConfigError, match="certification_alpha"):
        MusicLIMEExplainer(certification_alpha=alpha)


@pytest.mark.parametrize("method, power", [("bonferroni", 1.5), ("holm", 1.5), ("sequential", 0.5)])
def test_family_wise_error_on_a_linear_model_with_known_order(method, power):
    """200 simulated explanations of a noisy linear model with near ties: a certified top-k set that is
    not the true top-k set is the error the level bounds. Ranks 1 and 2 (0.30, 0.27) are a near tie:
    the sequential test, which certifies order, rarely passes rank 1, where Bonferroni certifies the
    top-4 set as a set."""
    truth = np.array([0.30, -0.27, 0.22, 0.20, -0.15, 0.14, 0.08, -0.05, 0.04, 0.0, 0.0, 0.0])
    true_order = np.argsort(-np.abs(truth), kind="stable")
    layout = FeatureLayout("audio", len(truth), 0)
    rng = np.random.default_rng(0)
    alpha, draws, wrong, certified = 0.1, 200, 0, []
    for draw in range(draws):
        masks = sample_masks(400, len(truth), draw)
        target = 0.2 + masks @ truth + 0.15 * rng.standard_normal(len(masks))
        result = certify_ranking(masks, target, np.ones(len(masks)), layout, range(len(truth)), alpha, method)
        k = result.certified_top_k
        certified.append(k)
        distinct = k == 0 or np.abs(truth[true_order[k - 1]]) > np.abs(truth[true_order[k]])
        if k and (not distinct or set(result.ranking[:k]) != set(true_order[:k].tolist())):
            wrong += 1
    assert wrong / draws <= alpha + 0.03
    assert np.mean(certified) >= power  # the test has power: it is not right only by certifying nothing


@pytest.mark.parametrize("method", ["bonferroni", "sequential"])
def test_each_modality_is_certified_within_its_own_ranking(method):
    layout = FeatureLayout("both", 8, 6)
    masks = sample_masks(900, 14, 0)
    truth = np.array([0.3, 0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.25, 0.15, 0.0, 0.0, 0.0, 0.0])
    rng = np.random.default_rng(1)
    target = 0.1 + masks @ truth + 0.02 * rng.standard_normal(len(masks))
    predictions = np.stack([1 - target, target], axis=1)
    weights = np.ones(len(masks))
    full = fit_every_feature(masks, predictions, [1], layout)
    block = certification_block(masks, predictions, {1: list(range(14))}, full, layout, weights, 0.1, method)
    entry = block["labels"]["1"]
    assert block["alpha"] == 0.1 and block["method"] == method == entry["method"] == entry["audio"]["method"]
    assert ("Bonferroni" if method == "bonferroni" else "sequential") in block["correction"]
    assert entry["audio"]["certified_top_k"] == 2 and entry["audio"]["ranking"][:2] == [0, 1]
    assert entry["lyrics"]["certified_top_k"] == 2 and entry["lyrics"]["ranking"][:2] == [8, 9]
    # bonferroni counts the pairs of each ranking; sequential the ranks it tested (two passed, one failed)
    assert (entry["audio"]["tests"], entry["lyrics"]["tests"]) == ((28, 15) if method == "bonferroni" else (3, 3))
    assert entry["certified_top_k"] == 4 and set(entry["ranking"][:4]) == {0, 1, 8, 9}
    assert len(entry["audio"]["tied_at_boundary"]) == 6  # the six null components tie
    audio_only = certification_block(masks[:, :8], predictions, {1: [0, 1, 2]},
                                     fit_every_feature(masks[:, :8], predictions, [1], FeatureLayout("audio", 8, 0)),
                                     FeatureLayout("audio", 8, 0), weights, 0.1, method)
    assert "lyrics" not in audio_only["labels"]["1"] and "audio" in audio_only["labels"]["1"]


def test_too_few_draws_certify_nothing():
    masks = sample_masks(30, 12, 0)
    target = masks @ np.linspace(1, 0, 12)
    result = certify_ranking(masks, target, np.ones(30), FeatureLayout("audio", 12, 0), range(12))
    assert not result.judged and result.certified_top_k == 0 and result.tied_at_boundary == ()


def test_the_explanation_certifies_planted_glassbox_leaders(factorization):
    """Eight distinct lines: enough distinct lyrics masks (clusters) to judge 8 + 1 lyrics parameters."""
    text_factorization = LineIndexedString("\n".join(EIGHT_LINES))
    names = factorization.get_ordered_component_names()
    audio = {names[0]: 0.20, names[5]: -0.15, names[9]: 0.10}
    lines = {EIGHT_LINES[2]: 0.25, EIGHT_LINES[0]: -0.12}
    model = GlassBoxModel(factorization, audio, lines, bias=0.4)
    explainer = MusicLIMEExplainer(random_state=0, progress=False, sampler="paired")
    exp = explainer.explain_instance_with_factorization(factorization, text_factorization, model, num_samples=600,
                                                        labels=(1,), modality="both")
    entry = certification_of(exp, 1)
    assert entry["alpha"] == 0.1 and entry["certified_top_k"] >= 5
    assert set(entry["ranking"][:5]) == {0, 5, 9} | {exp.features.index(f) for f in exp.features
                                                      if f["type"] == "lyrics" and f["feature"] in lines}
    assert entry["audio"]["certified_top_k"] >= 3 and set(entry["audio"]["ranking"][:3]) == {0, 5, 9}
    assert entry["lyrics"]["certified_top_k"] >= 2
    weights = full_fit_weights(exp, 1)
    np.testing.assert_allclose(weights[[0, 5, 9]], [0.20, -0.15, 0.10], atol=0.02)
    assert certification_of(exp, 0) is None


def test_the_summary_table_and_mlflow_count_certified_ranks(factorization, tmp_path):
    from musiclime.evidence.tables import summary_rows
    from musiclime.tracking.records import explanation_metrics

    names = factorization.get_ordered_component_names()
    model = GlassBoxModel(factorization, {names[0]: 0.3, names[1]: 0.2}, {EIGHT_LINES[2]: 0.25}, bias=0.2)
    explainer = MusicLIMEExplainer(random_state=0, progress=False)
    exp = explainer.explain_instance_with_factorization(factorization, LineIndexedString("\n".join(EIGHT_LINES)),
                                                        model, num_samples=500, labels=None, modality="both")
    path = exp.save_to_json(tmp_path / "explanation.json")
    row = summary_rows([path])[0]
    metrics = explanation_metrics(exp)
    entry = certification_of(exp, 1)
    expected = {"certified_top_k": entry["certified_top_k"], "certified_top_k_audio": entry["audio"]["certified_top_k"],
                "certified_top_k_lyrics": entry["lyrics"]["certified_top_k"]}
    assert {name: row[name] for name in expected} == {name: metrics[name] for name in expected} == expected
    assert row["certified_top_k"] >= 3 and row["certified_top_k_audio"] >= 2 and row["certified_top_k_lyrics"] >= 1
    audio_only = explainer.explain_instance_with_factorization(factorization, LineIndexedString("\n".join(EIGHT_LINES)),
                                                               model, num_samples=300, labels=None, modality="audio")
    assert "certified_top_k_lyrics" not in explanation_metrics(audio_only)
    assert summary_rows([audio_only.save_to_json(tmp_path / "audio.json")])[0]["certified_top_k_lyrics"] is None


def test_the_explanation_s_own_ranking_is_lime_s():
    from musiclime.method.estimation.surrogate import fit_surrogate

    masks = sample_masks(600, 30, 0)
    target = 0.4 + masks @ np.random.default_rng(2).normal(0, 0.05, 30)
    predictions = np.stack([1 - target, target], axis=1)
    lime = fit_surrogate(masks, predictions, [1], kernel_width=0.75, num_features=12)[1]
    columns = [i for i, _ in lime.local_exp]
    result = certify_ranking(masks, target, kernel_weights(masks, 0.75), FeatureLayout("audio", 30, 0), columns)
    assert list(result.ranking) == columns


# --- the sequential test (Goldwasser and Hooker), musiclime.method.estimation.sequential_ranks ---------------------------


def test_the_runner_up_test_with_equal_variances_is_the_two_sided_z_test():
    """Leader 0.5, runner-up 0.3, both variance 0.01: z = 0.2 / sqrt(0.02), p = 2 (1 - Phi(z))."""
    z = 0.2 / np.sqrt(0.02)
    p = conditional_pair_p(0.2, 0.2, 0.01, 0.01, 0.0, True)
    assert p == pytest.approx(2 * (1 - NormalDist().cdf(z)))
    # at alpha 0.1 the runner-up separates exactly past z = 1.645 standard errors of the difference
    assert conditional_pair_p(1.64 * np.sqrt(0.02), 0.0, 0.01, 0.01, 0.0, True) > 0.1
    assert conditional_pair_p(1.65 * np.sqrt(0.02), 0.0, 0.01, 0.01, 0.0, True) < 0.1
    # correlated estimates: the variance of the gap replaces s1 + sj
    assert conditional_pair_p(0.2, 0.2, 0.01, 0.01, 0.004, True) == pytest.approx(
        2 * (1 - NormalDist().cdf(0.2 / np.sqrt(0.012))))


@pytest.mark.parametrize("x2", [0.8, 0.55])
def test_a_lower_feature_is_tested_given_the_leader_beat_the_runner_up(x2):
    """The paper's formulas for independent estimates: pooled mean, tau, the selection denominator
    (1 - Phi((x2 - mu) / tau) when the runner-up is above mu, else 1/2)."""
    x1, xj, s1, sj = 1.0, 0.5, 0.04, 0.09
    mu = (x1 * sj + xj * s1) / (s1 + sj)
    tau = np.sqrt(s1 ** 2 / (s1 + sj))
    numerator = 1 - NormalDist().cdf((x1 - mu) / tau)
    denominator = 1 - NormalDist().cdf((x2 - mu) / tau) if x2 > mu else 0.5
    assert conditional_pair_p(x1 - xj, x1 - x2, s1, sj, 0.0, False) == pytest.approx(numerator / denominator)


def test_a_leader_less_variable_than_its_correlation_gets_the_doubly_truncated_p():
    """c > s1 (tau < 0): a larger gap lowers the leader given the pooled mean; the selection event is
    0 < Z < (x2 - mu) / tau and p is that truncated normal's upper tail."""
    gap, lead, s1, sj, c = 0.2, 0.1, 0.01, 0.05, 0.02
    v = s1 + sj - 2 * c
    z, tau = gap / np.sqrt(v), (s1 - c) / np.sqrt(v)
    upper = z - lead / tau
    phi = NormalDist().cdf
    expected = (phi(upper) - phi(z)) / (phi(upper) - 0.5)
    assert conditional_pair_p(gap, lead, s1, sj, c, False) == pytest.approx(expected)
    assert 0 <= expected <= 1


def test_ranks_are_tested_in_order_and_the_first_failure_stops():
    """Rank 2 (0.6 against 0.59) fails; rank 3 (0.59 against 0.1) would pass on its own but is not
    certified: a sequence of tests at the full level stops at its first failure."""
    weights = np.array([1.0, 0.6, -0.59, 0.1, 0.09, 0.08])
    result = certify_weights(weights, np.eye(6) * 1e-4, 0.1, method="sequential")
    assert result.method == "sequential" and result.certified_top_k == 1 and result.tests == 2
    assert result.p_values[0] < 0.1 < result.p_values[1] and result.p_values[2] < 0.1
    assert [result.separated(k) for k in range(1, 7)] == [True, False, False, False, False, True]
    assert result.critical == pytest.approx(NormalDist().inv_cdf(0.95))
    assert result.tied_at_boundary == (1, 2)  # the failing rank's leader and the feature it did not beat
    record = result.as_dict()
    assert record["method"] == "sequential" and len(record["p_values"]) == 2 and record["critical_z"] == 1.6449
    # the same weights under Bonferroni: the top-3 set is separated (order inside it unclaimed)
    assert certify_weights(weights, np.eye(6) * 1e-4, 0.1, method="bonferroni").certified_top_k == 3


def test_a_tie_below_certified_leaders_is_the_boundary_group():
    """Three clear leaders, then three features of equal size and a small one: the boundary group is the
    fourth-ranked feature and the two it ties with; the last rank is never claimed on its own."""
    weights = np.array([0.9, -0.7, 0.5, 0.3, 0.3001, -0.2999, 0.05])
    result = certify_weights(weights, np.eye(7) * 1e-4, 0.1, method="sequential")
    assert result.certified_top_k == 3 and set(result.tied_at_boundary) == {3, 4, 5}
    assert result.tied_at_boundary[0] == result.ranking[3]
    clear = certify_weights(np.array([0.9, 0.6, 0.3]), np.eye(3) * 1e-4, 0.1, method="sequential")
    assert clear.certified_top_k == 2 and clear.tied_at_boundary == () and clear.tests == 2
    assert certify_weights(np.array([0.5]), np.eye(1), 0.1).certified_top_k == 0


def test_a_sequential_rank_needs_fewer_standard_errors_than_bonferroni():
    """Twenty features 2.5 standard errors of the difference apart: the sequential test certifies every
    rank, Bonferroni (3.47 standard errors at m = 20, two-sided) none."""
    weights = 2.5 * np.sqrt(2) * 0.01 * np.arange(20, 0, -1)
    covariance = np.eye(20) * 1e-4
    assert certify_weights(weights, covariance, 0.1, method="sequential").certified_top_k == 19
    assert certify_weights(weights, covariance, 0.1, method="bonferroni").certified_top_k == 0
    # holm (the default) claims sets: the 171 wider pairs are rejected first, but the 19 neighbour pairs
    # (two-sided p = 0.0124 each) then meet thresholds from alpha / 19 = 0.0053 up, and the first fails:
    # where every gap is distinct and even, the order is certain before any set is
    assert certify_weights(weights, covariance, 0.1).certified_top_k == 0
    assert critical_z(20, 0.1, "bonferroni") == pytest.approx(3.47, abs=0.005)


def test_holm_certifies_every_set_bonferroni_does_and_more_where_many_pairs_are_clear():
    """Holm's step-down rejects every pair Bonferroni rejects; with many clearly separated pairs the
    remaining thresholds loosen (alpha / (T - i + 1)), so a gap of 3.3 standard errors, short of
    Bonferroni's 3.47 (two-sided, 190 pairs), still separates."""
    from musiclime.method.estimation.certification import holm_adjusted

    p = np.array([0.001, 0.04, 0.03, 0.2])
    np.testing.assert_allclose(holm_adjusted(p), [0.004, 0.09, 0.09, 0.2])  # 4p, max(3*0.03, 4p1), 2*0.04 < 0.09
    weights = np.array([1.0, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1] + [0.0] * 10)
    covariance = np.eye(20) * (0.1 / 3.3) ** 2 / 2  # neighbours 3.3 standard errors of their gap apart
    holm = certify_weights(weights, covariance, 0.1, method="holm")
    bonferroni = certify_weights(weights, covariance, 0.1, method="bonferroni")
    assert bonferroni.certified_top_k == 0 and holm.certified_top_k == 10  # the ten above the zeros, as a set
    assert holm.as_dict()["method"] == "holm" and "Holm" in correction_text(0.1, "holm")
    assert holm.critical == pytest.approx(NormalDist().inv_cdf(0.95))
    assert holm.separated(10) and not holm.separated(11) and len(holm.tied_at_boundary) == 10  # the zeros


def test_an_unknown_method_names_its_key():
    with pytest.raises(ConfigError, match="method"):
        certify_weights(np.ones(3), np.eye(3), 0.1, method="hochberg")
    with pytest.raises(ConfigError, match="certification_method"):
        MusicLIMEExplainer(certification_method="hochberg")


def _truth_is_wrong(ranking: tuple[int, ...], k: int, truth: np.ndarray, method: str) -> bool:
    """Is a certified top ``k`` wrong in truth? ``sequential`` claims each of ranks ``1 .. k`` is strictly
    the largest of the features ranked from it down; ``bonferroni`` that the top ``k`` all strictly
    exceed every other feature (the set, not its order)."""
    size = np.abs(truth)[list(ranking)]
    if method == "sequential":  # holm, like bonferroni, claims the set
        return any(size[r] <= size[r + 1:].max() for r in range(k))
    return k > 0 and size[:k].min() <= size[k:].max()


def _ordered_depth(result) -> int:
    """Leading ranks each certified in order (``separated(1) .. separated(k)``): what both methods claim
    about the order of the ranking."""
    k = 0
    while k + 1 < len(result.ranking) and result.separated(k + 1):
        k += 1
    return k


#: Glass-box rankings (true surrogate weights): graded leaders with a near tie (ranks 6 and 7, 3% apart)
#: and an exact tie (ranks 8 and 9) above a tail of six zero (tied) features; two exactly tied leaders;
#: every feature tied.
GRADED = np.array([0.3, -0.246, 0.2017, 0.1654, -0.1356, 0.1112, -0.1079, 0.0748, 0.0748, -0.0503] + [0.0] * 6)
GLASS_BOXES = {"graded": (GRADED, "random", None), "graded, LIME's kernel": (GRADED, "random", 0.5),
               "tied leaders": (np.array([0.2, -0.2, 0.1, 0.05] + [0.0] * 8), "paired", None),
               "all tied": (np.full(12, 0.1), "random", None)}


@pytest.mark.slow
def test_family_wise_error_on_glass_boxes_with_ties_and_near_ties():
    """300 seeds per glass box: a noisy linear model with known weights fitted by the weighted ridge with
    cluster-robust errors (:func:`certify_fit`), both methods on the same rows (equal budget).

    The family-wise error (a certified claim wrong in truth, :func:`_truth_is_wrong`) must stay within
    the 99th percentile of Binomial(300, alpha) (0.143 at alpha 0.1: a true rate of alpha fails this
    test with probability under 1%). Depth: the sequential test certifies more ranks *in order* than
    Bonferroni on every glass box; Bonferroni's ``certified_top_k`` claims only a set, and on the graded
    box it reaches past the near tie to the ten non-zero features now and then (measured, not asserted).
    """
    from scipy.stats import binom
    from musiclime.method.estimation.surrogate import exponential_kernel, mask_distances

    alpha, seeds, rows = 0.1, 300, 400
    bound = binom.ppf(0.99, seeds, alpha) / seeds
    for name, (truth, sampler, width) in GLASS_BOXES.items():
        layout = FeatureLayout("both", len(truth) // 2, len(truth) - len(truth) // 2)
        wrong = {"sequential": 0, "holm": 0, "bonferroni": 0}
        depth = {method: [] for method in wrong}
        ordered = {method: [] for method in wrong}
        for seed in range(seeds):
            masks = sample_masks(rows, len(truth), seed, sampler)
            target = 0.3 + masks @ truth + 0.1 * np.random.default_rng(seed).standard_normal(rows)
            kernel = np.ones(rows) if width is None else exponential_kernel(mask_distances(masks, 1.0), width)
            for method in wrong:
                result = certify_ranking(masks, target, kernel, layout, range(len(truth)), alpha, method)
                wrong[method] += _truth_is_wrong(result.ranking, result.certified_top_k, truth, method)
                depth[method].append(result.certified_top_k)
                ordered[method].append(_ordered_depth(result))
        summary = {m: (wrong[m] / seeds, np.mean(depth[m]), np.mean(ordered[m])) for m in wrong}
        logging.getLogger(__name__).info("%s: (FWER, mean certified_top_k, mean ordered depth) %s", name, summary)
        assert all(fwer <= bound for fwer, _, _ in summary.values()), (name, summary)
        assert summary["sequential"][2] >= summary["bonferroni"][2], (name, summary)
        assert summary["holm"][1] >= summary["bonferroni"][1], (name, summary)  # Holm rejects every pair Bonferroni does
        if name.startswith("graded"):
            assert summary["sequential"][1] >= 2.5  # power: the leaders are certified, not just nothing


# --- certified means certified (issue 35): a covariance that is one, two-sided pair tests, looks ----------

def _logistic_glass_box(masks: np.ndarray) -> np.ndarray:
    """The issue's example: three audio effects (1, 0.6, 0.6), nine audio components without effect, a
    nonlinear lyric term; ``(rows, 2)`` probabilities."""
    index = -1.2 + masks[:, :12] @ np.array([1.0, 0.6, 0.6] + [0.0] * 9)
    index = index + 0.8 * np.sin(3 * masks[:, 12:15].sum(1)) + 0.3 * masks[:, 15] * masks[:, 16]
    p = 1 / (1 + np.exp(-index))
    return np.stack([1 - p, p], axis=1)


def test_a_factorial_grid_s_covariance_is_one_and_certifies_no_component_without_effect():
    """On a factorial grid the two-way estimator made every audio variance negative (about -3e-5) and
    certified 11 of 11 audio ranks; the grid's covariance (the one-way parts added) is positive
    semi-definite, and over 20 grids no certified audio set holds a component without effect or splits
    the 0.6 / 0.6 tie."""
    layout = FeatureLayout("both", 12, 8)
    for seed in range(20):
        masks = sample_masks(1500, 20, seed, "factorial", audio_columns=12)
        fit = fit_every_feature(masks, _logistic_glass_box(masks.astype(np.float64)), [1], layout)[1]
        assert np.all(np.diag(fit.covariance) > 0)
        assert np.linalg.eigvalsh(fit.covariance).min() >= -1e-12 * np.abs(fit.covariance).max()
        audio = np.arange(12)
        for method in ("holm", "bonferroni", "sequential"):
            result = certify_weights(fit.coef[audio], fit.covariance[np.ix_(audio, audio)], 0.1, audio, method)
            certified = set(result.ranking[:result.certified_top_k])
            assert certified <= {0, 1, 2} and result.certified_top_k != 2, (seed, method, result.ranking)


def test_a_weight_without_variance_is_not_judged_and_says_why():
    covariance = np.diag([1e-4, 0.0, 1e-4])
    result = certify_weights(np.array([0.5, 0.3, 0.1]), covariance, 0.1)
    assert not result.judged and result.certified_top_k == 0 and result.tied_at_boundary == ()
    assert "no variance" in result.as_dict()["reason"]
    negative = certify_weights(np.array([0.5, 0.3, 0.1]), np.diag([1e-4, -1e-6, 1e-4]), 0.1, method="bonferroni")
    assert not negative.judged


@pytest.mark.parametrize("truth", [(0.5, 0.5), (1.0, 0.3, 0.3), (1.0, 0.8, 0.3, 0.3)])
def test_a_tie_at_the_boundary_is_certified_at_most_alpha_of_the_time(truth):
    """Weights drawn around known values with a known covariance (2,000 draws), the tie at the last
    boundary: a certified set or order that splits it is wrong. One-sided pair tests did so 0.13 to 0.21
    of the time at alpha 0.1 (Holm; measured on these draws before the change)."""
    rng = np.random.default_rng(0)
    truth = np.array(truth)
    covariance = np.eye(len(truth)) * 0.1**2
    draws = 2000
    bound = 0.1 + 2 * np.sqrt(0.1 * 0.9 / draws)
    for method in ("holm", "bonferroni", "sequential"):
        wrong = 0
        for weights in truth + 0.1 * rng.standard_normal((draws, len(truth))):
            result = certify_weights(weights, covariance, 0.1, method=method)
            wrong += _truth_is_wrong(result.ranking, result.certified_top_k, truth, method)
        assert wrong / draws <= bound, (method, truth, wrong / draws)


def test_certified_sets_say_which_top_sets_and_which_places_are_certain():
    """Two near ties (ranks 1-2 and 3-4) far apart: Holm and Bonferroni certify the top 2 and the top 4 as
    sets, never rank 1 or rank 3 in its place; the sequential test stops at the first tie, certifying none."""
    weights = np.array([3.0, 2.99, 1.0, 0.99, 0.0])
    covariance = np.eye(5) * 0.01 ** 2
    for method in ("holm", "bonferroni"):
        result = certify_weights(weights, covariance, 0.1, method=method)
        assert (result.certified_top_k, result.certified_sets) == (4, (2, 4))
        assert result.as_dict()["certified_sets"] == [2, 4]
    sequential = certify_weights(weights, covariance, 0.1, method="sequential")
    assert (sequential.certified_top_k, sequential.certified_sets) == (0, ())
    ordered = certify_weights(np.array([4.0, 3.0, 2.0, 1.0, 0.99]), covariance, 0.1, method="sequential")
    assert ordered.certified_sets == (1, 2, 3) and ordered.as_dict()["certified_sets"] == [1, 2, 3]
    assert unjudged(ordered).certified_sets == ()
