"""Stage ``attribute``: score every coalition of one song's coarse players once per model and lyric unit.

The exact coarse attribution (:mod:`musiclime.method.estimation.coarse_attribution`) needs the model's
probabilities on every subset of the sources with the lyrics on or off (``2 ** P`` items). They do not
depend on the mask seed, the sampler, the sample count or the temporal segments, so the predict jobs
of a song's mask seeds (the stability check's) read one table instead of scoring it 3 to 5 times.
They do depend on the lyric unit (its all-on and all-off texts) and on the model: a randomized model
variant has a table of its own.

Artifact: ``coalitions.npz`` with ``coalition_predictions`` float64 ``(2 ** P, n_classes)`` and metadata
``{"song_id", "model", "lyrics_unit", "players", "sources", "costs", "provenance"}``.
"""

from __future__ import annotations

from pathlib import Path

from ...common.artifacts import load_arrays, save_arrays, write_config
from ...common.errors import MusicLimeError
from ...common.provenance import describe_file
from ...factorization.lyrics import make_text_factorization, read_lyrics_file
from ...method.estimation.coarse_attribution import LYRICS_PLAYER, CoalitionTable
from ...method.scoring.coalitions import score_coalitions
from . import PathLike
from .prediction import song_model, weights_provenance
from .separation import load_factorization


def attribute(stems_npz: PathLike, lyrics_path: PathLike, lyrics_unit: str, model_slice: dict,
              out_coalitions: PathLike, out_config: PathLike) -> Path:
    """Score every coalition of the song's sources and lyrics with the model; write the table."""
    fact, stems_meta = load_factorization(stems_npz, 1)  # a source's segments are all on or all off
    song_id = stems_meta["song_id"]
    text = make_text_factorization(read_lyrics_file(lyrics_path, song_id), lyrics_unit)
    predict_fn = song_model(model_slice, fact.sample_rate)
    table = score_coalitions(fact, text, predict_fn, batch_size=model_slice["batch_size"],
                             memory_budget_mb=model_slice["memory_budget_mb"])
    meta = {"song_id": song_id, "model": model_slice["name"], "lyrics_unit": lyrics_unit,
            "players": list(table.players), "sources": list(table.sources), "costs": table.costs,
            "provenance": {"inputs": {"audio": stems_meta.get("audio_file"), "lyrics": describe_file(lyrics_path)},
                           "weights": weights_provenance(predict_fn, model_slice)}}
    save_arrays(out_coalitions, meta, coalition_predictions=table.predictions)
    write_config(out_config, {"song_id": song_id, "lyrics_unit": lyrics_unit, "model": model_slice})
    return Path(out_coalitions)


def load_coalitions(coalitions_npz: PathLike, song_id: str, sources: list[str], n_text: int) -> CoalitionTable:
    """The coalition table of ``song_id``, checked against the song's sources and lyrics.

    Raises:
        MusicLimeError: the file is another song's, or its players are not these sources and lyrics
            (a stale artifact: re-run the workflow).
    """
    meta, arrays = load_arrays(coalitions_npz)
    players = list(sources) + ([LYRICS_PLAYER] if n_text > 0 else [])
    if meta["song_id"] != song_id or meta["players"] != players:
        raise MusicLimeError(f"coalitions {coalitions_npz} are song {meta['song_id']!r}'s with players "
                             f"{meta['players']}, not song {song_id!r}'s ({players}); delete the file and re-run "
                             "the workflow")
    return CoalitionTable(tuple(meta["players"]), tuple(meta["sources"]), arrays["coalition_predictions"],
                          meta["costs"])


#: Runs in a warm model worker (musiclime.pipeline.worker_pool), which keeps the model for the next job.
attribute.worker_pool = "models"
