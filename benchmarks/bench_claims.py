"""Do certified claims hold at their level? Glass boxes with known rankings, every sampler, with and
without the stopping rule, every certification method.

Each glass box is a function of the masks (no audio): a logistic model of audio and lyric effects,
with exact ties, components without effect, an audio x lyrics interaction or a nonlinear lyric term.
Its true ranking is that of the population surrogate: the full fit
(:func:`musiclime.method.estimation.full_fit.fit_every_feature`) on every one of the ``2**F`` masks,
in which features that play the same part tie exactly. Per cell (glass box x sampler x stopping x
method) and mask seed, the full fit's audio, lyrics and joint rankings are certified as a page
certifies them, each a family at level ``alpha``; a certified claim is **wrong** when a set claim
(``holm``, ``bonferroni``) puts a feature in the top set that does not strictly exceed every feature
outside it in truth, or an order claim (``sequential``) ranks a feature above one that is at least as
large. The table gives, per cell, the share of seeds whose claim is wrong in the worst of the three
families (at most ``alpha`` plus two binomial standard errors is the target), and the mean certified
depth of the audio ranking.

With the stopping rule the masks are scored in rounds (``StoppingRule(top_k=3)``, 250 rows growing
1.5x to the budget); the claims are made on the rows where it stopped, at the level the rule's
record says (:func:`~musiclime.method.estimation.stopping.claim_level`). Run it against another
checkout (``--src``) for the figures before a change: code without alpha spending certifies at the
full ``alpha`` after every look.

    PYTHONPATH=src python benchmarks/bench_claims.py [--seeds 200] [--rows 4000] [--out claims.tsv]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import sys
import time
from pathlib import Path

import numpy as np

from musiclime.method.estimation.certification import certify_weights, enough_draws
from musiclime.method.estimation.full_fit import fit_every_feature, kernel_weights
from musiclime.method.estimation.robust_fit import mask_clusters, robust_fit
from musiclime.method.estimation.sampling import sample_masks
from musiclime.method.estimation.stopping import StoppingRule, boundary_test, round_ends
from musiclime.method.modality import FeatureLayout

try:  # code with alpha spending (issue 35); without it every look and the claims use the full alpha
    from musiclime.method.estimation.stopping import claim_level, look_fractions
except ImportError:  # pragma: no cover - the figures before the change
    look_fractions = None

ALPHA = 0.1
METHODS = ("holm", "bonferroni", "sequential")
SAMPLERS = ("random", "paired", "factorial", "factorial_paired")
#: relative tolerance under which two true importances count as tied
TIE = 1e-9


def _logistic(index: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-index))


def glass_boxes() -> dict[str, tuple[int, int, callable]]:
    """name -> (audio columns, lyrics columns, masks -> P(class 1))."""
    def ties(m):  # the example plus lyric ties: 1, 0.6 = 0.6, 0.3 = 0.3 and zeros
        audio = m[:, :12] @ np.array([1.0, 0.6, 0.6, 0.3, 0.3] + [0.0] * 7)
        return _logistic(-1.2 + audio + m[:, 12:] @ np.array([0.5, 0.25, 0.25] + [0.0] * 5))

    def null(m):  # two audio effects, ten audio components and every lyric without effect
        return _logistic(-0.6 + m[:, :12] @ np.array([0.8, 0.4] + [0.0] * 10))

    def interaction(m):  # audio 2 acts only with lyric 0
        audio = m[:, :12] @ np.array([0.7, 0.5, 0.0] + [0.0] * 9)
        return _logistic(-1.0 + audio + 1.2 * m[:, 2] * m[:, 12] + 0.3 * m[:, 13])

    def nonlinear(m):  # the factorial example: three audio effects, a nonlinear lyric term
        audio = m[:, :12] @ np.array([1.0, 0.6, 0.6] + [0.0] * 9)
        return _logistic(-1.2 + audio + 0.8 * np.sin(3 * m[:, 12:15].sum(1)) + 0.3 * m[:, 15] * m[:, 16])

    return {"ties": (12, 8, ties), "no effect": (12, 8, null), "interaction": (12, 8, interaction),
            "nonlinear lyrics": (12, 8, nonlinear)}


def truth(audio: int, lyrics: int, model) -> np.ndarray:
    """The population full fit's weights ``(F,)``: the fit on every mask."""
    features = audio + lyrics
    every = ((np.arange(2**features)[:, None] >> np.arange(features)[::-1]) & 1).astype(np.int8)
    every = np.concatenate([np.ones((1, features), np.int8), every[:-1]])  # row 0 all ones, as samplers draw
    return robust_fit(every, model(every.astype(np.float64)), kernel_weights(every, 25.0), []).coef


def claim_is_wrong(ranking, k: int, true: np.ndarray, method: str) -> bool:
    """Is the certified top ``k`` of ``ranking`` (feature indices into ``true``) wrong in truth?"""
    if k == 0:
        return False
    size = np.abs(true)[list(ranking)]
    tol = TIE * max(float(np.max(np.abs(true))), 1e-12)
    if method == "sequential":
        return any(size[r] <= size[r + 1:].max() + tol for r in range(k))
    return size[:k].min() <= size[k:].max() + tol


def families(layout: FeatureLayout):
    """(name, columns) of the rankings a page certifies: audio, lyrics (full fit, within modality), all."""
    audio = np.arange(layout.n_audio)
    lyrics = np.arange(layout.n_audio, layout.num_features)
    return (("audio", audio), ("lyrics", lyrics), ("all", np.arange(layout.num_features)))


def rows_and_level(masks, p1, layout, method: str, stopping: bool) -> tuple[int, float]:
    """The rows the claims are made on, and their level: all rows at ``ALPHA`` without the rule; with
    it, the rows where it stopped, at the level its last look had."""
    if not stopping:
        return len(masks), ALPHA
    rule = StoppingRule(top_k=3, num_features=layout.num_features, method=method)
    ends = round_ends(len(masks), rule, pairs=False)
    fractions = look_fractions(ends) if look_fractions else [1.0] * len(ends)
    for end, fraction in zip(ends, fractions):
        test = boundary_test(masks[:end], p1[:end], layout, rule, **({"alpha": ALPHA * fraction}
                                                                      if look_fractions else {}))
        if test.stable:
            break
    level = claim_level(ALPHA, {"look_fraction": fraction}) if look_fractions else ALPHA
    return end, level


def run_cell(name, audio, lyrics, model, true, sampler, stopping, seeds, rows) -> list[dict]:
    layout = FeatureLayout("both", audio, lyrics)
    wrong = {(m, family): 0 for m in METHODS for family in ("audio", "lyrics", "all")}
    depth = {m: [] for m in METHODS}
    used = {m: [] for m in METHODS}
    judged = 0
    for seed in range(seeds):
        masks = sample_masks(rows, audio + lyrics, seed, sampler, audio_columns=audio)
        p1 = model(masks.astype(np.float64))
        for method in METHODS:
            end, level = rows_and_level(masks, p1, layout, method, stopping)
            if method == METHODS[0] or stopping:
                part = masks[:end]
                fit = fit_every_feature(part, np.stack([1 - p1[:end], p1[:end]], 1), [1], layout)[1]
                trusted = enough_draws(mask_clusters(part.astype(np.int8), layout))
            used[method].append(end)
            for family, columns in families(layout):
                result = certify_weights(fit.coef[columns], fit.covariance[np.ix_(columns, columns)], level,
                                         columns, method)
                k = result.certified_top_k if (trusted and result.judged) else 0
                wrong[method, family] += claim_is_wrong(result.ranking, k, true, method)
                if family == "audio":
                    depth[method].append(k)
        judged += trusted
    out = []
    for method in METHODS:
        family, count = max(((f, wrong[m, f]) for m, f in wrong if m == method), key=lambda item: item[1])
        rate = count / seeds
        bound = ALPHA + 2 * np.sqrt(ALPHA * (1 - ALPHA) / seeds)
        out.append({"glass box": name, "sampler": sampler, "stopping": "on" if stopping else "off",
                    "method": method, "wrong": round(rate, 3), "worst family": family, "within": rate <= bound,
                    "audio depth": round(float(np.mean(depth[method])), 2),
                    "rows": int(np.mean(used[method])), "judged": round(judged / seeds, 2)})
    return out


def main(argv=None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    parser.add_argument("--rows", type=int, default=4000, help="rows per explanation (the rule's budget)")
    parser.add_argument("--boxes", nargs="*", default=None)
    parser.add_argument("--samplers", nargs="*", default=list(SAMPLERS))
    parser.add_argument("--stopping", nargs="*", default=["off", "on"])
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    rows = []
    boxes = glass_boxes()
    start = time.perf_counter()
    for name in args.boxes or list(boxes):
        audio, lyrics, model = boxes[name]
        true = truth(audio, lyrics, model)
        for sampler, stop in itertools.product(args.samplers, args.stopping):
            cell = run_cell(name, audio, lyrics, model, true, sampler, stop == "on", args.seeds, args.rows)
            rows += cell
            for row in cell:
                print("\t".join(str(v) for v in row.values()), flush=True)
    print(f"{len(rows)} cells in {time.perf_counter() - start:.0f} s", file=sys.stderr)
    if args.out:
        with open(args.out, "w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]), delimiter="\t")
            writer.writeheader()
            writer.writerows(rows)
    return rows


if __name__ == "__main__":
    main()
