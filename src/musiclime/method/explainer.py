"""``MusicLIMEExplainer``: the seed-compatible facade over sampling, inference and the LIME fit."""

from __future__ import annotations

import logging
import time
from typing import Iterable

import numpy as np

from ..common.errors import ConfigError
from ..common.provenance import describe_files
from ..factorization import OpenUnmixFactorization, TimeOnlyFactorization
from ..factorization.lyrics import make_text_factorization
from .estimation.certification import DEFAULT_ALPHA, DEFAULT_METHOD, certification_block, check_alpha, check_method
from .estimation.coarse_attribution import attribution_blocks
from .estimation.full_fit import fit_every_feature, full_fit_block, kernel_weights
from .estimation.sampling import FACTORIAL_SAMPLERS, GRID_ALLOCATIONS, as_random_state, factorial_pool, sample_masks
from .estimation.second_opinion import check_surrogate, fit_surrogates
from .estimation.stopping import StoppingRule, claim_level
from .estimation.surrogate import check_fit_params
from .explanation import MusicLIMEExplanation, explanation_metadata, feature_records
from .modality import FeatureLayout, check_modality
from .scoring.explanation_rows import score_explanation_rows
from .scoring.inference import PredictFn, check_lyrics_for_modality, predict_all_off, predict_original
from .scoring.memory_budget import DEFAULT_MEMORY_BUDGET_MB

log = logging.getLogger(__name__)

FACTORIZATIONS = ("openunmix", "time_only")


class MusicLIMEExplainer:
    """Explains one song's prediction by switching audio components and lyric lines off.

    Args:
        kernel_width: width of the kernel ``sqrt(exp(-d**2 / w**2))`` (seed default 25).
        random_state: int seed or ``numpy.random.RandomState`` for the masks.
        distance_scale: factor on the cosine distances (1 = seed; LIME's text explainer uses 100).
        feature_selection: LIME feature selection (``"auto"`` = seed).
        num_features: features kept in the surrogate (20 = seed).
        batch_size: items per ``predict_fn`` call.
        memory_budget_mb: MiB for composing waveforms (a reused buffer, plus mixture tables); a batch of
            waveforms larger than this is split into smaller model calls.
        sampler: ``"random"`` (seed), ``"exhaustive"`` (all 2**F masks when <= num_samples), ``"paired"``,
            ``"factorial"`` or ``"factorial_paired"`` (:mod:`musiclime.method.estimation.sampling`).
        progress: show progress bars.
        stopping: a :class:`~musiclime.method.estimation.stopping.StoppingRule`: score the masks in rounds and
            stop once the predicted class's top features are stable (``num_samples`` is the budget);
            ``None`` scores every mask.
        surrogate: ``"lime"`` (seed) or ``"kernel_shap"``: Shapley values from the same scored masks
            (:mod:`musiclime.method.estimation.shapley`), at the cost of one more model item (every explained
            feature off; none when a mask row is already all zeros). The other surrogate is fitted
            too when it can be, and kept in ``metadata["alternative_surrogate"]``
            (:mod:`musiclime.method.estimation.second_opinion`).
        grid_allocation: the factorial samplers' split of masks between the modalities, ``"equal"``,
            ``"by_features"`` or ``"by_attribution"`` (by need and by each modality's exact share of the
            effect; :mod:`musiclime.method.estimation.sampling`).
        certification_alpha: family-wise error level of the certified ranks
            (``metadata["certification"]``, :mod:`musiclime.method.estimation.certification`); a ridge on every
            feature is recorded too (``metadata["full_fit"]``, :mod:`musiclime.method.estimation.full_fit`).
        certification_method: ``"sequential"`` (Goldwasser and Hooker's test, the default) or
            ``"bonferroni"`` (:mod:`musiclime.method.estimation.certification`). A ``stopping`` rule keeps its own
            ``method``.
    """

    def __init__(self, kernel_width: float = 25, random_state=None, *, distance_scale: float = 1.0,
                 feature_selection: str = "auto", num_features: int = 20, batch_size: int = 32,
                 sampler: str = "random", progress: bool = True,
                 memory_budget_mb: float = DEFAULT_MEMORY_BUDGET_MB, stopping: StoppingRule | None = None,
                 surrogate: str = "lime", certification_alpha: float = DEFAULT_ALPHA,
                 grid_allocation: str = "equal", certification_method: str = DEFAULT_METHOD):
        check_fit_params(kernel_width, distance_scale, feature_selection, num_features)
        self.surrogate = check_surrogate(surrogate)
        self.kernel_width = kernel_width
        self.random_state = as_random_state(random_state)
        self.distance_scale = distance_scale
        self.feature_selection = feature_selection
        self.num_features = num_features
        self.batch_size = batch_size
        self.memory_budget_mb = memory_budget_mb
        self.sampler = sampler
        if grid_allocation not in GRID_ALLOCATIONS:
            raise ConfigError(f"unknown grid_allocation {grid_allocation!r}; expected one of {GRID_ALLOCATIONS}")
        self.grid_allocation = grid_allocation
        self.progress = progress
        self.stopping = stopping
        self.certification_alpha = check_alpha(certification_alpha, "certification_alpha")
        self.certification_method = check_method(certification_method, "certification_method")

    def explain_instance(self, audio, lyrics: str, predict_fn: PredictFn, num_samples: int = 1000,
                         labels: Iterable[int] | None = (1,), temporal_segments: int = 10, modality: str = "both",
                         *, sample_rate: int = 22050, factorization: str = "openunmix",
                         separation_model: str = "umxl", device: str = "cpu", lyrics_unit: str = "line",
                         song_info: dict | None = None) -> MusicLIMEExplanation:
        """Separate ``audio``, factorize ``lyrics`` and explain (the seed's entry point).

        Args:
            audio: mono float32 ``(nb_timesteps,)`` at ``sample_rate`` Hz.
            lyrics: raw lyrics text.
            predict_fn: ``(texts, audios (batch, nb_timesteps)) -> (batch, n_classes)`` probabilities.
            labels: classes to explain; ``None`` explains the predicted class.
            factorization: ``"openunmix"`` (seed) or ``"time_only"``.
        """
        check_modality(modality)
        if factorization == "openunmix":
            audio_fact = OpenUnmixFactorization(audio, temporal_segmentation_params=temporal_segments,
                                                sample_rate=sample_rate, model=separation_model, device=device,
                                                progress=self.progress)
        elif factorization == "time_only":
            audio_fact = TimeOnlyFactorization(audio, sample_rate=sample_rate, temporal_segments=temporal_segments)
        else:
            raise ValueError(f"unknown factorization {factorization!r}; expected one of {FACTORIZATIONS}")
        text_fact = make_text_factorization(lyrics, lyrics_unit)
        return self.explain_instance_with_factorization(audio_fact, text_fact, predict_fn, num_samples=num_samples,
                                                        labels=labels, modality=modality, song_info=song_info)

    def explain_instance_with_factorization(self, audio_factorization, text_factorization, predict_fn: PredictFn,
                                            num_samples: int = 1000, labels: Iterable[int] | None = (1,),
                                            modality: str = "both", *,
                                            song_info: dict | None = None) -> MusicLIMEExplanation:
        """Explain with precomputed factorizations (reuse one separation for several explanations)."""
        check_modality(modality)
        check_lyrics_for_modality(text_factorization, modality, (song_info or {}).get("song_id"))
        started = time.perf_counter()
        layout = FeatureLayout(modality, audio_factorization.get_number_components(), text_factorization.num_words())
        pool = self.grid_allocation == "by_attribution" and self.sampler in FACTORIAL_SAMPLERS and layout.audio_columns
        if pool:  # a pool of grid cells: the split is chosen once the exact attribution is known
            masks, cells = factorial_pool(self.random_state, num_samples, layout.n_audio, layout.n_text,
                                          self.sampler == "factorial_paired")
        else:
            masks = sample_masks(num_samples, layout.num_features, self.random_state, self.sampler,
                                 audio_columns=layout.audio_columns, allocation=self.grid_allocation)
        log.info("explaining %d features (%d audio components, %d lyric features, modality %s) with %d samples",
                 layout.num_features, layout.n_audio, layout.n_text, modality, masks.shape[0])
        original = predict_original(audio_factorization, text_factorization, predict_fn)
        num_drawn = num_samples if pool else int(masks.shape[0])
        settings = {"batch_size": self.batch_size, "progress": self.progress, "memory_budget_mb": self.memory_budget_mb}
        scored_rows = score_explanation_rows(audio_factorization, text_factorization, masks, layout, predict_fn,
                                             self.stopping, int(np.argmax(original)), self.sampler,
                                             cells if pool else None, num_samples, **settings)
        masks, result, record = scored_rows.masks, scored_rows.result, scored_rows.record
        coalitions, allocation = scored_rows.coalitions, scored_rows.allocation
        labels = (int(np.argmax(original)),) if labels is None else tuple(int(x) for x in labels)
        all_off = None
        if self.surrogate == "kernel_shap":
            all_off, extra = predict_all_off(audio_factorization, text_factorization, layout, predict_fn, masks,
                                             result.predictions, **{**settings, "progress": False})
            if extra is not None:
                result = result.with_costs_of(extra)
        fit_start = time.perf_counter()
        surrogates = fit_surrogates(masks, result.predictions, labels, self.surrogate,
                                    prediction_all_off=all_off, sampler=self.sampler,
                                    kernel_width=self.kernel_width, distance_scale=self.distance_scale,
                                    feature_selection=self.feature_selection, num_features=self.num_features)
        fits = surrogates.fits
        fit_seconds = time.perf_counter() - fit_start
        full_start = time.perf_counter()
        full = fit_every_feature(masks, result.predictions, labels, layout, kernel_width=self.kernel_width,
                                 distance_scale=self.distance_scale)
        certification = certification_block(
            masks, result.predictions, {label: [i for i, _ in fit.local_exp] for label, fit in fits.items()}, full,
            layout, kernel_weights(masks, self.kernel_width, self.distance_scale), self.certification_alpha,
            self.certification_method, claim_level(self.certification_alpha, record and record.as_dict()))
        full_seconds = time.perf_counter() - full_start
        coarse = attribution_blocks(coalitions, labels, {label: fit.coef for label, fit in full.items()},
                                    audio_factorization.temporal_segments, layout.n_audio if layout.perturbs_audio else 0)
        metadata = explanation_metadata(
            audio_factorization.describe(), song_info, getattr(text_factorization, "unit", "line"),
            parameters={"num_samples": num_drawn, "kernel_width": self.kernel_width,
                        "distance_scale": self.distance_scale, "feature_selection": self.feature_selection,
                        "num_features": self.num_features, "sampler": self.sampler, "batch_size": self.batch_size,
                        "modality": modality, "labels": list(labels), "surrogate": self.surrogate,
                        **({"grid_allocation": self.grid_allocation} if self.grid_allocation != "equal" else {}),
                        **({"allocation": allocation} if allocation else {})},
            timings_s={"predict": result.seconds, "fit": fit_seconds, "fit_full": full_seconds,
                       "total": time.perf_counter() - started,
                       **({"separation": audio_factorization.separation_seconds}
                          if hasattr(audio_factorization, "separation_seconds") else {})},
            model_calls=result.n_calls + 1, model_items=result.model_items + 1, costs=result.costs(),
            samples_used=len(masks), stopping=None if record is None else record.as_dict(),
            provenance={"weights": describe_files(getattr(predict_fn, "weight_files", None),
                                                  note="the predict_fn names no weight_files")})
        metadata.update(surrogates.metadata(layout.num_features))
        metadata["full_fit"] = full_fit_block(full)
        metadata["certification"] = certification
        metadata["modality_attribution"], metadata["stem_attribution"] = coarse
        explanation = MusicLIMEExplanation(audio_factorization, text_factorization, masks, result.predictions,
                                           modality=modality,
                                           features=feature_records(audio_factorization, text_factorization, modality),
                                           probabilities_original=original, metadata=metadata)
        for fit in fits.values():
            explanation.add_fit(fit)
        log.info("explained labels %s: R^2 %s", list(labels), {k: round(v.score, 3) for k, v in fits.items()})
        return explanation
