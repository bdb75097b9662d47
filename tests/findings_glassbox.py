"""A glass-box dataset for the findings: songs whose class-level effects are planted, so intervals and tests
can be checked against known answers (tests/test_dataset_findings.py, benchmarks/bench_findings_glassbox.py).

Per class (0 and 1) and audio component ``j`` (4 sources x 10 segments), a song's positive weight is
``present * gamma``: present with probability ``q_cj``, then Gamma-distributed with mean ``mu_cj`` and a
coefficient of variation of 0.7 (song-to-song variation); each of its mask seeds multiplies it by a
Gamma noise of mean 1 (CV 0.2). So the paper's ``I_AVG`` of ``j`` in class ``c`` (the mean over the songs
where it counts) has the planted value ``mu_cj``, and the mean importance per song ``q_cj * mu_cj``. Half
of the components have the same ``q`` and ``mu`` in both classes (no difference), half differ by a
factor 1.6 to 3. Each song's exact stem values are normal around a planted class mean (sd 0.05, seeds
add sd 0.01), two stems equal across classes, two not. A ``generator`` cohort column is assigned at
random (three values): every cohort difference is null.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import sparse

from musiclime.evidence.song_table import SongTable

SOURCES = ("vocals", "drums", "bass", "other")
SEGMENTS = 10
STEMS = SOURCES
CLASS_NAMES = {0: "AI-Generated", 1: "Human-Composed"}


@dataclass(frozen=True)
class Plant:
    """The planted values: ``q``, ``mu`` ``(2, n_components)``; ``stem_mean`` ``(2, n_stems)``; which differ."""

    components: list[str]
    q: np.ndarray
    mu: np.ndarray
    component_differs: np.ndarray
    stem_mean: np.ndarray
    stem_differs: np.ndarray


def make_plant(seed: int = 7) -> Plant:
    rng = np.random.default_rng(seed)
    components = [f"{s}_T{t}" for s in SOURCES for t in range(SEGMENTS)]
    n = len(components)
    q = np.tile(rng.uniform(0.6, 0.95, n), (2, 1))
    mu = np.tile(rng.uniform(0.01, 0.1, n), (2, 1))
    differs = np.zeros(n, dtype=bool)
    differs[rng.permutation(n)[: n // 2]] = True
    factor = rng.uniform(1.6, 3.0, n)
    mu[0, differs] *= factor[differs]
    stem_mean = np.array([[0.12, 0.02, 0.05, 0.01], [0.03, 0.10, 0.05, 0.01]])
    return Plant(components, q, mu, differs, stem_mean, np.array([True, True, False, False]))


def planted_table(plant: Plant, rng: np.random.Generator, songs_per_class: int = 100, seeds: int = 3) -> SongTable:
    """One draw of the dataset as a :class:`SongTable` (``2 * songs_per_class`` songs, ``seeds`` rows each)."""
    n_songs = 2 * songs_per_class
    classes = np.repeat([0, 1], songs_per_class)
    present = rng.random((n_songs, len(plant.components))) < plant.q[classes]
    shape = 1.0 / 0.7 ** 2
    song_weight = present * rng.gamma(shape, plant.mu[classes] / shape)
    seed_shape = 1.0 / 0.2 ** 2
    rows = np.repeat(song_weight, seeds, axis=0) * rng.gamma(seed_shape, 1.0 / seed_shape, (n_songs * seeds,
                                                                                             len(plant.components)))
    stems = plant.stem_mean[classes] + rng.normal(0.0, 0.05, (n_songs, len(STEMS)))
    exact = np.repeat(stems, seeds, axis=0) + rng.normal(0.0, 0.01, (n_songs * seeds, len(STEMS)))
    generator = rng.choice(["suno", "udio", "human"], n_songs).tolist()
    return SongTable(song_ids=[f"s{i:04d}" for i in range(n_songs)], classes=classes, class_names=dict(CLASS_NAMES),
                     song_of_row=np.repeat(np.arange(n_songs), seeds),
                     keys=[("component", c) for c in plant.components], weights=sparse.csr_matrix(rows),
                     players=[("stem", s) for s in STEMS], exact=exact, cohorts={"generator": generator},
                     main_rows=np.arange(n_songs) * seeds)


def difference_truth(plant: Plant, measure: str, key: str) -> float:
    """The planted difference (class 0 minus class 1) of a findings row's mean importance."""
    if measure == "component weight":
        j = plant.components.index(key)
        return float(plant.q[0, j] * plant.mu[0, j] - plant.q[1, j] * plant.mu[1, j])
    s = STEMS.index(key)
    return 0.0 if not plant.stem_differs[s] else float(np.sign(plant.stem_mean[0, s] - plant.stem_mean[1, s]))


def planted_lime_hom(plant: Plant, songs_per_class: int) -> tuple[np.ndarray, np.ndarray]:
    """The paper's ``I_LIME`` and ``I_HOM`` ``(2, n_components)`` of the planted population at this class size:
    ``I_LIME = sqrt(n_c q mu)`` (the expected sum), the entropy of those over the classes, min-max over the
    components, ``I_HOM = I_LIME (1 - normalised entropy)``."""
    lime = np.sqrt(songs_per_class * plant.q * plant.mu)
    share = lime / lime.sum(axis=0)
    entropy = -(share * np.log2(share)).sum(axis=0)
    normalised = (entropy - entropy.min()) / (entropy.max() - entropy.min())
    return lime, lime * (1.0 - normalised)


def check_repeats(repeats: int = 100, songs_per_class: int = 100, replicates: int = 200, level: float = 0.9,
                  alpha: float = 0.05, seed: int = 0, correction: str = "holm") -> dict:
    """Draw the dataset ``repeats`` times; per draw, the intervals of ``I_AVG`` (each class and component) and
    of each class's mean exact stem value, and the tested differences (classes and the null cohort).

    Returns: ``coverage`` (share of all intervals that hold their planted value), ``coverage_min`` (the
    lowest per-figure coverage over the repeats), ``share_of_figures_covered`` (figures covered in at least
    85% of the repeats), ``family_wise_error`` (share of draws with any "holds" on a null difference),
    ``wrong_sign`` (holds with the wrong sign), ``power`` (share of non-null class differences that hold),
    ``false_discovery_share`` (mean over draws of the wrong share among what holds; 0 where nothing holds),
    ``coverage_I_LIME`` and ``coverage_I_HOM`` (of :func:`planted_lime_hom`; not part of ``coverage``),
    ``coverage_differences`` (intervals of the tested differences, classes and the null cohort).
    """
    from musiclime.evidence.dataset_findings import Settings, difference_rows
    from musiclime.evidence.differences import group_means
    from musiclime.evidence.importance_intervals import importance_intervals

    plant = make_plant()
    rng = np.random.default_rng(seed)
    settings = Settings(level=level, replicates=replicates, seed=seed, alpha=alpha, correction=correction)
    covered: dict[tuple, list[bool]] = {}
    lime_truth, hom_truth = planted_lime_hom(plant, songs_per_class)
    others: dict[tuple, list[bool]] = {}
    differences: dict[tuple, list[bool]] = {}
    any_false, wrong_sign, hits, nonnull, shares = 0, 0, 0, 0, []
    for r in range(repeats):
        table = planted_table(plant, rng, songs_per_class)
        intervals = importance_intervals(table, "paper", level, replicates, seed + r)
        for c in (0, 1):
            for j, name in enumerate(plant.components):
                entry = intervals.get((c, "component", name))
                if entry is None:  # no song of the class has it (small classes): no figure to cover
                    continue
                covered.setdefault(("I_AVG", c, name), []).append(entry["I_AVG_low"] <= plant.mu[c, j]
                                                                  <= entry["I_AVG_high"])
                for figure, truth in (("I_LIME", lime_truth), ("I_HOM", hom_truth)):
                    others.setdefault((figure, c, name), []).append(entry[f"{figure}_low"] <= truth[c, j]
                                                                    <= entry[f"{figure}_high"])
        names = [CLASS_NAMES[int(c)] for c in table.classes]
        means, _ = group_means(table.exact, table.song_of_row, table.main_rows, names, level, replicates, seed + r)
        for g, group in enumerate(means.groups):
            c = [k for k, v in CLASS_NAMES.items() if v == group][0]
            for s, stem in enumerate(STEMS):
                covered.setdefault(("stem", c, stem), []).append(means.low[g, s] <= plant.stem_mean[c, s]
                                                                 <= means.high[g, s])
        rows = difference_rows(table, Settings(level, replicates, seed + r, alpha, settings.correction))
        false_here, wrong_here, holding_here = False, 0, 0
        for row in rows:
            truth = 0.0 if row["comparison"] != "class" else difference_truth(plant, row["measure"], row["key"])
            if row["comparison"] == "class" and row["measure"] == "exact stem" and row["key"] == "lyrics":
                continue
            if row["low"] is not None:
                differences.setdefault((row["comparison"], row["group_a"], row["measure"], row["key"]), []).append(
                    row["low"] <= truth <= row["high"])
            holding_here += row["holds"]
            if truth == 0.0:
                false_here |= row["holds"]
                wrong_here += row["holds"]
            else:
                nonnull += 1
                hits += row["holds"]
                wrong_sign += row["holds"] and np.sign(row["difference"]) != np.sign(truth)
        any_false += false_here
        shares.append(wrong_here / holding_here if holding_here else 0.0)
    rates = {key: float(np.mean(values)) for key, values in covered.items()}
    return {"repeats": repeats, "songs": 2 * songs_per_class, "replicates": replicates, "level": level,
            "alpha": alpha, "figures": len(rates), "coverage": float(np.mean(list(rates.values()))),
            "coverage_min": float(min(rates.values())),
            "share_of_figures_covered": float(np.mean([v >= 0.85 for v in rates.values()])),
            "family_wise_error": any_false / repeats, "wrong_sign": int(wrong_sign),
            "power": hits / max(nonnull, 1), "false_discovery_share": float(np.mean(shares)),
            "coverage_differences": float(np.mean([np.mean(v) for v in differences.values()])),
            **{f"coverage_{figure}": float(np.mean([np.mean(v) for k, v in others.items() if k[0] == figure]))
               for figure in ("I_LIME", "I_HOM")}}
