"""Stage ``perturb``: draw one song's perturbation masks and record what every column means.

With the stopping rule on, the masks are the budget: the ``predict`` stage scores prefixes of them.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ...common.artifacts import save_arrays, write_config
from ...factorization.lyrics import make_text_factorization, read_lyrics_file
from ...method.explanation import feature_records
from ...method.inference import check_lyrics_for_modality
from ...method.modality import FeatureLayout
from ...method.sampling import sample_masks
from .separation import load_factorization


def perturb(stems_npz: str | Path, lyrics_path: str | Path, masks_slice: dict, song_id: str,
            out_masks: str | Path, out_config: str | Path) -> Path:
    """Draw the perturbation masks of one song and record what every column means."""
    fact, sep_meta = load_factorization(stems_npz, masks_slice["temporal_segments"])
    text = make_text_factorization(read_lyrics_file(lyrics_path, song_id), masks_slice["lyrics_unit"])
    check_lyrics_for_modality(text, masks_slice["modality"], song_id)
    layout = FeatureLayout(masks_slice["modality"], fact.get_number_components(), text.num_words())
    masks = sample_masks(masks_slice["num_samples"], layout.num_features, masks_slice["seed"], masks_slice["sampler"],
                         audio_columns=layout.audio_columns,
                         allocation=masks_slice.get("grid_allocation", "equal"))
    meta = {"song_id": song_id, **masks_slice, "n_audio": layout.n_audio, "n_text": layout.n_text,
            "features": feature_records(fact, text, layout.modality), "audio": fact.describe(),
            "separation_seconds": sep_meta["separation_seconds"]}
    save_arrays(out_masks, meta, masks=masks.astype(np.int8))
    write_config(out_config, {"song_id": song_id, "masks": masks_slice})
    return Path(out_masks)
