"""Stages of the demo's generated inputs: ``synthesize_demo_songs`` (songs, stems, lyrics, sheet) and
``train_demo_model`` (the demo classifier)."""

from __future__ import annotations

import logging
from pathlib import Path

from ..demo_set import demo_songs

log = logging.getLogger(__name__)


def synthesize_demo_songs(out_sheet: str | Path, demo: dict) -> Path:
    """Synthesize the demo songs and their sheet; check they are the songs the plan announced.

    Args:
        out_sheet: the sample sheet (``.../samples.tsv``); songs go into its folder.
        demo: the ``data.demo`` slice (``n_songs``, ``duration_s``, ``seed``).
    """
    from ...demo import write_demo_set  # deferred: synthesis imports scipy.signal, training torch

    n_songs = demo["n_songs"]
    sheet = write_demo_set(Path(out_sheet).parent, n_songs, seed=demo["seed"], duration_s=demo["duration_s"])
    expected = demo_songs(out_sheet, n_songs)
    missing = [str(s.audio) for s in expected if not s.audio.is_file()]
    if missing or sheet != Path(out_sheet):
        raise RuntimeError(f"the demo set does not match its announced songs: missing {missing}, sheet {sheet}")
    return sheet


def train_demo_model(out_weights: str | Path, train: dict, threads: int) -> Path:
    """Train the demo classifier into the folder of ``out_weights`` (``model.pt``).

    Args:
        train: the model's ``train_demo`` slice (``seed``, optional ``kwargs`` of
            :func:`musiclime.demo.training.train_demo_model`).
        threads: the cores Snakemake gave the job. The training's own torch thread count stays
            fixed (``train_demo.kwargs.threads`` or the training default): the weights depend on it,
            and a run with ``--cores 1`` must train the same model as one with more cores.
    """
    from ...demo import train_demo_model as train_demo_classifier  # deferred: torch

    folder = Path(out_weights).parent
    kwargs = dict(train.get("kwargs", {}))
    log.info("training the demo model into %s (job threads %d; torch threads fixed by the training config)",
             folder, threads)
    train_demo_classifier(folder, seed=train["seed"], **kwargs)
    return folder
