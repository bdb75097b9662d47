"""Stage ``perturb``: draw one song's perturbation masks and record what every column means.

With the stopping rule on, the masks are the budget: the ``predict`` stage scores prefixes of them.
With ``explain.grid_allocation=by_attribution`` they are a pool (``grid_cells``: each row's audio and
lyrics mask index) from which the ``predict`` stage keeps the split the exact attribution asks for.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...common.artifacts import save_arrays, write_config
from ...factorization.lyrics import make_text_factorization, read_lyrics_file
from ...method.explanation import feature_records
from ...method.scoring.inference import check_lyrics_for_modality
from ...method.modality import FeatureLayout
from ...method.estimation.sampling import FACTORIAL_SAMPLERS, as_random_state, factorial_pool, sample_masks
from .separation import load_factorization


def perturb(stems_npz: str | Path, lyrics_path: str | Path, masks_slice: dict, song_id: str,
            out_masks: str | Path, out_config: str | Path) -> Path:
    """Draw the perturbation masks of one song and record what every column means."""
    fact, sep_meta = load_factorization(stems_npz, masks_slice["temporal_segments"])
    text = make_text_factorization(read_lyrics_file(lyrics_path, song_id), masks_slice["lyrics_unit"])
    check_lyrics_for_modality(text, masks_slice["modality"], song_id)
    layout = FeatureLayout(masks_slice["modality"], fact.get_number_components(), text.num_words())
    allocation = masks_slice.get("grid_allocation", "equal")
    extra = {}
    if allocation == "by_attribution" and masks_slice["sampler"] in FACTORIAL_SAMPLERS and layout.audio_columns:
        # a pool: the predict stage keeps the rows of the split the exact attribution asks for
        masks, extra["grid_cells"] = factorial_pool(as_random_state(masks_slice["seed"]), masks_slice["num_samples"],
                                                    layout.n_audio, layout.n_text,
                                                    masks_slice["sampler"] == "factorial_paired")
    else:
        masks = sample_masks(masks_slice["num_samples"], layout.num_features, masks_slice["seed"],
                             masks_slice["sampler"], audio_columns=layout.audio_columns, allocation=allocation)
    meta = {"song_id": song_id, **masks_slice, "n_audio": layout.n_audio, "n_text": layout.n_text,
            "features": feature_records(fact, text, layout.modality), "audio": fact.describe(),
            "separation_seconds": sep_meta["separation_seconds"]}
    save_arrays(out_masks, meta, masks=masks.astype(np.int8), **extra)
    write_config(out_config, {"song_id": song_id, "masks": masks_slice})
    return Path(out_masks)
