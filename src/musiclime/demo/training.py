"""Training the demo classifier on synthesized songs, with MusicLIME-style perturbation augmentation.

The training corpus is ``n_train / 2`` seeds, each synthesized in both styles (so the two classes
share bass, chords, tempo, key, melody notes and drum pattern and only the style cues separate
them), directly at the model's sample rate and kept in memory as mono stems ``(n, 4, nb_timesteps)``.
Every batch is perturbed the way MusicLIME perturbs a song: stems switched off in random temporal
segments, lyric lines removed, sometimes a whole modality emptied, so the model stays calibrated on
perturbed inputs and learns that bass and other carry no evidence.

Held-out evaluation uses fresh seeds (a disjoint range) synthesized the way users get them: 44.1 kHz
stereo mix, downmixed to mono and resampled to the model rate.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..common.atomic_io import write_json
from ..common.audio import resample
from ..models.demo_classifier import (METRICS_FILE, DemoClassifier, DemoModelConfig, lyrics_features, predict_proba,
                                      save_demo_model)
from ..factorization.lyrics import lyric_lines
from .synthesis import STEM_NAMES, synthesize_song

log = logging.getLogger(__name__)

#: Song seeds of training and test corpora: ``base + 10_000 * seed + index`` (demo sets use ``1000 * seed + i``).
TRAIN_SEED_BASE, TEST_SEED_BASE = 2_000_000, 3_000_000
#: Weight of the audio-only and lyrics-only auxiliary losses next to the fused loss.
AUX_WEIGHT = 0.5


@dataclass
class Corpus:
    """Songs in memory: mono stems ``(n, 4, nb_timesteps)`` float32 at the model rate, lyric lines, labels ``(n,)``."""

    stems: np.ndarray
    lines: list[list[str]]
    labels: np.ndarray


@dataclass(frozen=True)
class Augmentation:
    """Probabilities of the MusicLIME-style perturbations applied to training songs.

    Attributes:
        clean_audio / clean_text: chance of leaving the audio / lyrics untouched.
        no_audio / no_text: chance of silencing all audio / removing all lyrics (modality dropout: with
            most songs heard without lyrics, the fused head must reach a verdict from the audio
            alone, as it does when the explainer switches every lyric line off).
        solo: chance that a perturbation keeps one whole stem alone (teaches each stem's cue on its own).
        whole_stems: chance that a perturbation switches whole stems (one segment) rather than
            stems in 2..max_segments segments.
        max_segments: most segments per stem.
        keep: (low, high) range of the per-song chance that a component or line is kept.
    """

    clean_audio: float = 0.4
    clean_text: float = 0.3
    no_audio: float = 0.1
    no_text: float = 0.65
    solo: float = 0.4
    whole_stems: float = 0.2
    max_segments: int = 12
    keep: tuple[float, float] = (0.2, 0.9)


def synthesize_corpus(seeds: list[int], styles: list[str], duration_s: float, sample_rate: int) -> Corpus:
    """Synthesize songs ``seeds[i]`` in ``styles[i]`` directly at ``sample_rate`` Hz, mono stems in memory."""
    n_timesteps = int(round(duration_s * sample_rate))
    stems = np.empty((len(seeds), len(STEM_NAMES), n_timesteps), dtype=np.float32)
    lines, labels = [], []
    for i, (seed, style) in enumerate(zip(seeds, styles)):
        song = synthesize_song(seed, style, duration_s=duration_s, sample_rate=sample_rate)
        stems[i] = np.stack([song.stems[name].mean(axis=0) for name in STEM_NAMES])
        lines.append(lyric_lines(song.lyrics))
        labels.append(song.label)
    return Corpus(stems=stems, lines=lines, labels=np.asarray(labels, dtype=np.int64))


def perturb_batch(corpus: Corpus, indices: np.ndarray, aug: Augmentation, rng: np.random.Generator,
                  audio: bool = True) -> tuple[np.ndarray, list[str]]:
    """Perturbed mixes ``(len(indices), nb_timesteps)`` float32 and lyrics texts of songs ``indices``.

    A perturbed mix is the sum of the kept (stem, segment) components, as MusicLIME composes it.
    With ``audio=False`` the mixes are left clean (only the lyrics are perturbed).
    """
    n_sources, n_timesteps = corpus.stems.shape[1:]
    audios = np.empty((len(indices), n_timesteps), dtype=np.float32)
    texts = []
    for row, index in enumerate(indices):
        keep = _component_mask(aug, rng, n_sources) if audio else np.ones((n_sources, 1), dtype=bool)
        edges = np.arange(keep.shape[1] + 1) * n_timesteps // keep.shape[1]
        gains = np.repeat(keep.astype(np.float32), np.diff(edges), axis=1)  # (n_sources, nb_timesteps)
        audios[row] = np.einsum("st,st->t", corpus.stems[index], gains)
        texts.append("\n".join(_kept_lines(corpus.lines[index], aug, rng)))
    return audios, texts


def _component_mask(aug: Augmentation, rng: np.random.Generator, n_sources: int) -> np.ndarray:
    """Which (source, segment) components to keep: bool ``(n_sources, n_segments)``."""
    draw = rng.random()
    if draw < aug.no_audio:
        return np.zeros((n_sources, 1), dtype=bool)
    if draw >= aug.no_audio + (1 - aug.no_audio) * (1 - aug.clean_audio):
        return np.ones((n_sources, 1), dtype=bool)
    kind = rng.random()
    if kind < aug.solo:
        keep = np.zeros((n_sources, 1), dtype=bool)
        keep[int(rng.integers(n_sources))] = True
        return keep
    n_segments = 1 if kind < aug.solo + aug.whole_stems else int(rng.integers(2, aug.max_segments + 1))
    return rng.random((n_sources, n_segments)) < rng.uniform(*aug.keep)


def _kept_lines(lines: list[str], aug: Augmentation, rng: np.random.Generator) -> list[str]:
    draw = rng.random()
    if draw < aug.no_text:
        return []
    if draw >= aug.no_text + (1 - aug.no_text) * (1 - aug.clean_text):
        return list(lines)
    keep_line = rng.uniform(*aug.keep)
    return [line for line in lines if rng.random() < keep_line]


def standardize_from(model: DemoClassifier, corpus: Corpus) -> None:
    """Set the model's per-band log-mel mean and std from the clean training mixes."""
    with torch.no_grad():
        sums = torch.zeros(model.config.n_mels, dtype=torch.float64)
        squares = torch.zeros_like(sums)
        count = 0
        for start in range(0, len(corpus.labels), 16):
            mel = model.logmel(torch.from_numpy(corpus.stems[start:start + 16].sum(axis=1))).double()
            sums += mel.sum(dim=(0, 2))
            squares += (mel ** 2).sum(dim=(0, 2))
            count += mel.shape[0] * mel.shape[2]
        mean = sums / count
        model.mel_mean.copy_(mean.float())
        model.mel_std.copy_(torch.sqrt(torch.clamp(squares / count - mean ** 2, min=1e-6)).float())


def evaluate_on_fresh_songs(model: DemoClassifier, seeds: list[int], duration_s: float) -> dict:
    """Accuracies and mean probabilities on songs ``seeds[i]`` (styles alternating ai, human) as users get them.

    Each song is synthesized at 44.1 kHz, its stereo mix downmixed to mono and resampled to the
    model rate. Returns accuracy with both modalities, audio only (lyrics empty, as when the explainer
    switches every lyric line off) and lyrics only (audio silent), and, per style, the mean
    probability of the song's own class in each of these conditions (``p_ai_on_ai``,
    ``audio_only_p_ai_on_ai``, ``lyrics_only_p_human_on_human``, ...) plus the human songs' mean
    P(Human) with their vocals stem removed (``no_vocals_p_human_on_human``).
    """
    rate = model.config.sample_rate
    audios, no_vocals, texts, labels = [], [], [], []
    for i, seed in enumerate(seeds):
        song = synthesize_song(seed, ("ai", "human")[i % 2], duration_s=duration_s)
        audios.append(resample(song.mix.mean(axis=0), song.sample_rate, rate))
        without = np.sum([song.stems[name] for name in STEM_NAMES if name != "vocals"], axis=0, dtype=np.float32)
        no_vocals.append(resample(without.mean(axis=0), song.sample_rate, rate))
        texts.append(song.lyrics)
        labels.append(song.label)
    audios, no_vocals, labels = np.stack(audios), np.stack(no_vocals), np.asarray(labels)
    scores = {}
    for name, batch_texts, batch_audios in (("", texts, audios),
                                            ("audio_only_", [""] * len(texts), audios),
                                            ("lyrics_only_", texts, np.zeros_like(audios)),
                                            ("no_vocals_", texts, no_vocals)):
        probabilities = predict_proba(model, batch_texts, batch_audios)
        if name != "no_vocals_":
            scores[f"{name}accuracy"] = float(np.mean(probabilities.argmax(axis=1) == labels))
        for label, style in enumerate(("ai", "human")):
            if np.any(labels == label) and (name != "no_vocals_" or style == "human"):
                scores[f"{name}p_{style}_on_{style}"] = float(np.mean(probabilities[labels == label, label]))
    return scores


def train_demo_model(out_dir: str | os.PathLike, seed: int = 0, n_train: int = 160, duration_s: float = 6.0,
                     epochs: int = 36, clean_epochs: int = 6, n_test: int = 40, test_duration_s: float = 24.0,
                     batch_size: int = 16, learning_rate: float = 2e-3, threads: int = 2, config: dict | None = None,
                     augmentation: dict | None = None, shuffle_labels: bool = False,
                     label_smoothing: float = 0.2) -> dict:
    """Train the demo classifier and write ``model.pt``, ``config.json`` and ``metrics.json`` into ``out_dir``.

    Args:
        out_dir: weights directory (created).
        seed: seeds torch, the augmentation and the corpus song seeds; same seed and ``threads``, same
            weights, byte for byte (``model.pt`` and ``config.json``; ``metrics.json`` holds timings).
        n_train: training songs (rounded down to even: each seed in both styles).
        duration_s: seconds per training song.
        epochs: passes over the training corpus.
        clean_epochs: first epochs without audio perturbation (the audio cues are found faster on
            clean mixes; lyrics are perturbed from the start).
        n_test: held-out songs from fresh seeds, styles alternating.
        test_duration_s: seconds per held-out song.
        batch_size: songs per optimizer step.
        learning_rate: AdamW learning rate.
        threads: torch CPU threads during training (restored afterwards). The weights depend on it
            (convolutions sum in a different order with another thread count), so the workflow keeps
            it fixed (this default, or ``train_demo.kwargs.threads``) whatever cores a job is given.
        config: overrides of :class:`DemoModelConfig` fields.
        augmentation: overrides of :class:`Augmentation` fields.
        label_smoothing: of the cross-entropy losses; the training target of the true class is
            ``1 - label_smoothing / 2``, which bounds how confident the model gets.
        shuffle_labels: train on a random permutation of the training labels (seeded by ``seed``):
            the data-randomization sanity check of Adebayo et al. (2018). Held-out accuracy is still
            measured against the true labels (about 0.5).

    Returns:
        The metrics written to ``metrics.json``.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    previous_threads = torch.get_num_threads()
    previous_deterministic = torch.are_deterministic_algorithms_enabled(), \
        torch.is_deterministic_algorithms_warn_only_enabled()
    torch.set_num_threads(max(1, int(threads)))
    torch.use_deterministic_algorithms(True, warn_only=True)
    try:
        torch.manual_seed(seed)
        rng = np.random.default_rng([int(seed), 1])
        model_config = DemoModelConfig(**(config or {}))
        aug = Augmentation(**(augmentation or {}))
        n_pairs = max(1, int(n_train) // 2)
        train_seeds = [TRAIN_SEED_BASE + 10_000 * int(seed) + i for i in range(n_pairs)]
        corpus = synthesize_corpus(train_seeds * 2, ["ai"] * n_pairs + ["human"] * n_pairs, duration_s,
                                   model_config.sample_rate)
        if shuffle_labels:
            corpus.labels = np.random.default_rng([int(seed), 2]).permutation(corpus.labels)
        synthesized = time.perf_counter()
        log.info("synthesized %d training songs of %.1f s in %.1f s", len(corpus.labels), duration_s,
                 synthesized - started)

        model = DemoClassifier(model_config)
        standardize_from(model, corpus)
        optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-3)
        steps_per_epoch = int(np.ceil(len(corpus.labels) / batch_size))
        scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=max(1, epochs * steps_per_epoch))
        loss_fn = nn.CrossEntropyLoss(label_smoothing=float(label_smoothing))
        labels = torch.from_numpy(corpus.labels)
        model.train()
        for epoch in range(epochs):
            order = rng.permutation(len(corpus.labels))
            total = 0.0
            for start in range(0, len(order), batch_size):
                indices = order[start:start + batch_size]
                audios, texts = perturb_batch(corpus, indices, aug, rng, audio=epoch >= clean_epochs)
                text_features = torch.from_numpy(lyrics_features(texts, model_config.text_buckets,
                                                                 model_config.text_counts))
                target = labels[indices]
                fused, audio_only, text_only = model.all_logits(torch.from_numpy(audios), text_features)
                loss = loss_fn(fused, target) + AUX_WEIGHT * (loss_fn(audio_only, target) + loss_fn(text_only, target))
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
                scheduler.step()
                total += loss.item() * len(indices)
            log.info("epoch %d/%d: training loss %.4f", epoch + 1, epochs, total / len(order))
        train_time = time.perf_counter() - started
        model.eval()

        test_seeds = [TEST_SEED_BASE + 10_000 * int(seed) + i for i in range(int(n_test))]
        held_out = evaluate_on_fresh_songs(model, test_seeds, test_duration_s) if n_test > 0 else {}
        save_demo_model(model, out_dir)
        metrics = {**held_out, "n_train": len(corpus.labels), "n_test": int(n_test), "train_time_s": train_time,
                   "total_time_s": time.perf_counter() - started, "epochs": int(epochs), "seed": int(seed),
                   "duration_s": float(duration_s), "test_duration_s": float(test_duration_s), "threads": int(threads),
                   "sample_rate": model_config.sample_rate, "shuffle_labels": bool(shuffle_labels)}
        write_json(out_dir / METRICS_FILE, metrics)
        log.info("demo model written to %s: %s", out_dir, metrics)
        return metrics
    finally:
        torch.set_num_threads(previous_threads)
        torch.use_deterministic_algorithms(previous_deterministic[0], warn_only=previous_deterministic[1])
