"""Goldwasser and Hooker's sequential rank test, adapted to correlated coefficients.

The procedure (J. Goldwasser and G. Hooker, "Statistical Significance of Feature Importance
Rankings", arXiv 2401.15800): the features are sorted by estimated importance ``x = |w|``,
descending; rank ``r`` is verified when the leader of the features still in play,
``R = {(r) .. (m)}``, is significantly the largest of ``R``, i.e. when for every other ``j`` in ``R``
a pairwise test conditioned on the leader's selection rejects "``x_(r)`` is not larger than
``x_j``". Ranks are tested in order, each at the full level ``alpha``, and the first failure stops
(a fixed sequence of tests, so the family-wise error stays at ``alpha``). This module computes the
p-values; :mod:`musiclime.method.estimation.certification` turns them into a certification.

The conditional pairwise test, and how it is adapted here. In the paper the estimates are
independent, with variances ``s_1`` (the leader) and ``s_j``. A surrogate's coefficients come from
one regression and are correlated: ``c_1j`` is the covariance of ``|w_1|`` and ``|w_j|`` (from
``V = S C S``, ``C`` the cluster-robust covariance, ``S = diag(sign(w))``). The test is written in
terms of the gap ``D = x_1 - x_j``, whose variance ``v = s_1 + s_j - 2 c_1j`` replaces ``s_1 + s_j``:

* the pooled mean under the null (equal means) is the part of ``x_1`` uncorrelated with ``D``,
  ``mu = x_1 - beta D`` with ``beta = (s_1 - c_1j) / v`` (``c_1j = 0`` gives the paper's
  ``(x_1 s_j + x_j s_1) / (s_1 + s_j)``); given ``mu``, ``x_1 = mu + beta D`` and ``D ~ N(0, v)``;
* the scale of the leader given ``mu`` is ``tau = beta sqrt(v)`` (the paper's
  ``tau^2 = s_1^2 / (s_1 + s_j)``), so the numerator ``1 - Phi((x_1 - mu) / tau)`` is
  ``1 - Phi(z)`` with ``z = D / sqrt(v)``, the gap in standard errors of the difference;
* the selection event is "the leader beat ``j`` (``D > 0``) and the runner-up ``x_2``"; with ``x_2``
  held at its observed value (as in the paper) that is ``Z > max(0, t)``,
  ``t = (x_2 - mu) / tau``, and the denominator is ``1 - Phi(max(0, t))`` (``1/2`` when ``x_2 <= mu``).
  When ``beta < 0`` (the leader is less variable than its strong positive correlation with ``j``;
  rare) a larger gap lowers the leader, the event is ``0 < Z < (x_2 - mu) / tau`` and the p-value is
  that of the doubly truncated normal;
* for ``j`` the runner-up itself the denominator is ``1/2``, as in the paper: ``p = 2 (1 - Phi(z))``,
  the two-sided z test of the gap (with independent equal variances exactly the paper's test).

What the adaptation leaves approximate: ``x_2`` is correlated with the pair too and is held fixed
rather than conditioned on; the normal approximation and the robust covariance are taken as exact.
The family-wise error is therefore checked empirically (glass boxes with known rankings, many seeds:
``tests/test_certification.py``).
"""

from __future__ import annotations

import numpy as np


def standard_normal():
    """``scipy.stats.norm``, imported on first use: the workflow's plan imports this module (through the
    config's checks), and importing scipy.stats costs about a second of every Snakemake start."""
    from scipy.stats import norm

    return norm


def signed_covariance(ranked: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """``S C S``, the first-order covariance of ``|w|`` ``(m, m)``, for weights ``ranked`` ``(m,)``
    (each weight keeps its observed sign; a zero weight counts as positive)."""
    sign = np.sign(ranked)
    sign[sign == 0] = 1
    return covariance * np.outer(sign, sign)


def conditional_pair_p(gap: np.ndarray, leader_lead: np.ndarray, var_leader: np.ndarray, var_other: np.ndarray,
                       cov: np.ndarray, runner_up: np.ndarray) -> np.ndarray:
    """One-sided p-values of "the leader is not larger than ``j``", conditioned on its selection.

    All arguments broadcast to one shape ``(n,)``:

    Args:
        gap: ``x_1 - x_j >= 0``.
        leader_lead: ``x_1 - x_2 >= 0``, the leader's lead over the runner-up of its set.
        var_leader, var_other, cov: ``s_1``, ``s_j``, ``c_1j``.
        runner_up: true where ``j`` is the runner-up (denominator ``1/2``).

    Returns:
        ``(n,)`` p-values in ``[0, 1]`` (see the module docstring).
    """
    gap, lead, s1, sj, c = np.broadcast_arrays(*(np.asarray(a, dtype=np.float64) for a in
                                                  (gap, leader_lead, var_leader, var_other, cov)))
    runner_up = np.broadcast_to(np.asarray(runner_up, dtype=bool), gap.shape)
    v = np.maximum(s1 + sj - 2 * c, 1e-300)
    z = gap / np.sqrt(v)
    tau = (s1 - c) / np.sqrt(v)  # beta sqrt(v), signed
    # (x_2 - mu) / tau with mu = x_1 - beta D: z - (x_1 - x_2) / tau
    with np.errstate(divide="ignore", invalid="ignore"):
        bound = np.where(tau != 0, z - lead / np.where(tau != 0, tau, 1.0), -np.inf)
    plain = runner_up | (tau == 0)  # selection is D > 0 alone
    lower = np.where(~plain & (tau > 0), np.maximum(bound, 0.0), 0.0)
    upper = np.where(~plain & (tau < 0), np.maximum(bound, z), np.inf)
    # p = P(Z >= z | lower < Z < upper), on the log scale where upper is infinite (tiny tails)
    norm = standard_normal()
    log_open = norm.logsf(z) - norm.logsf(lower)
    numerator = norm.sf(z) - norm.sf(upper)
    denominator = norm.sf(lower) - norm.sf(upper)
    with np.errstate(divide="ignore", invalid="ignore"):
        closed = np.where(denominator > 0, numerator / denominator, 1.0)
    p = np.where(np.isinf(upper), np.exp(log_open), closed)
    return np.clip(p, 0.0, 1.0)


def pairwise_p_values(ranked: np.ndarray, covariance: np.ndarray) -> np.ndarray:
    """``p[r, j]`` for ``j > r``: the conditional test of rank ``r``'s leader against ``j`` ``(m, m)``.

    Args:
        ranked: ``(m,)`` weights in rank order (``|w|`` descending).
        covariance: ``(m, m)`` their covariance, in the same order.

    Returns:
        ``(m, m)``: above the diagonal the p-values (row ``r``: the test of rank ``r + 1``, 1-based),
        ``nan`` on and below it.
    """
    x = np.abs(np.asarray(ranked, dtype=np.float64))
    m = len(x)
    signed = signed_covariance(np.asarray(ranked, dtype=np.float64), np.asarray(covariance, dtype=np.float64))
    diag = np.diag(signed)
    p = np.full((m, m), np.nan)
    if m < 2:
        return p
    rank, other = np.triu_indices(m, 1)  # every pair at once: one vectorised call
    p[rank, other] = conditional_pair_p(x[rank] - x[other], x[rank] - x[rank + 1], diag[rank], diag[other],
                                        signed[rank, other], other == rank + 1)
    return p


def unconditional_gap_p(ranked: np.ndarray, covariance: np.ndarray, r: int) -> np.ndarray:
    """``(m,)`` the plain two-sided test of the gap between rank ``r``'s leader and each feature ranked
    below it, ``2 (1 - Phi(z))`` (the runner-up's test; ``nan`` at and above ``r``).

    Args:
        ranked: ``(m,)`` weights in rank order; covariance: ``(m, m)`` in the same order; r: 0-based rank.
    """
    x = np.abs(np.asarray(ranked, dtype=np.float64))
    signed = signed_covariance(np.asarray(ranked, dtype=np.float64), np.asarray(covariance, dtype=np.float64))
    diag = np.diag(signed)
    others = np.arange(r + 1, len(x))
    p = np.full(len(x), np.nan)
    p[others] = conditional_pair_p(x[r] - x[others], 0.0, diag[r], diag[others], signed[r, others], True)
    return p


def rank_p_values(pairwise: np.ndarray) -> np.ndarray:
    """Per rank ``r = 1 .. m - 1``, the largest pairwise p-value of its leader ``(m - 1,)``: the rank is
    verified at level ``alpha`` when this is at most ``alpha``."""
    m = len(pairwise)
    return np.array([np.max(pairwise[r, r + 1:]) for r in range(m - 1)])


def leading_run(p_values: np.ndarray, alpha: float) -> int:
    """Ranks verified in sequence: how many leading ``p_values`` are ``<= alpha`` (the first failure stops)."""
    failed = np.flatnonzero(np.asarray(p_values) > alpha)
    return int(failed[0]) if len(failed) else len(p_values)
