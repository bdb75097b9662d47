"""grid_allocation=by_attribution: the factorial grid's masks split by need and by each modality's exact share."""

import json

import numpy as np
import pytest

from musiclime import LineIndexedString, MusicLIMEExplainer
from musiclime.common.artifacts import load_arrays
from musiclime.method.estimation.sampling import (attribution_grid_sizes, factorial_pool, grid_sizes, pool_sizes,
                                       select_grid_rows)
from musiclime.models.glassbox import GlassBoxModel
from musiclime.pipeline.stages import attribute, fit, perturb, predict

from .evidence_helpers import SEGMENTS, glassbox_slice, separate_song, write_song

EIGHT_LINES = ["first line of the verse", "second line with words", "sing the chorus loud", "a bridge",
               "another verse begins", "the hook comes back", "an outro fades", "last line of the song"]


def test_a_modality_that_matters_gets_more_masks_and_the_pool_holds_every_split():
    sizes = [attribution_grid_sizes(3000, 40, 7, False, share) for share in (0.0, 0.04, 0.5, 0.9, 1.0)]
    audio = [k_audio for k_audio, _ in sizes]
    assert audio == sorted(audio) and audio[0] < audio[-1]  # more audio masks as the audio's share grows
    # the by_features budget, 2 ceil(sqrt(N)) encoder items, unless a modality's minimum (n + 1) takes more
    assert all(k_audio + k_text <= 2 * 55 or 8 in (k_text,) or k_audio == 41 for k_audio, k_text in sizes)
    assert attribution_grid_sizes(3000, 40, 7, False, None) == attribution_grid_sizes(3000, 40, 7, False, 0.5)
    assert all(k_audio >= 41 and k_text >= 8 for k_audio, k_text in sizes)  # never below n + 1 masks
    pool = pool_sizes(3000, 40, 7, False)
    assert all(k_audio <= pool[0] and k_text <= pool[1] for k_audio, k_text in sizes)
    assert grid_sizes(3000, 40, 7, False, "by_attribution") == pool


def test_selected_rows_lie_in_the_split_s_corner_row_zero_first():
    rows, cells = factorial_pool(np.random.RandomState(0), 400, 10, 5, pairs=False)
    assert (rows[0] == 1).all() and tuple(cells[0]) == (0, 0)
    assert len({tuple(c) for c in cells}) == len(cells)  # every cell once
    chosen = select_grid_rows(cells, 12, 9, 80)
    assert chosen[0] == 0 and len(chosen) == 80 and len(set(chosen)) == 80
    assert (cells[chosen, 0] < 12).all() and (cells[chosen, 1] < 9).all()
    again = factorial_pool(np.random.RandomState(0), 400, 10, 5, pairs=False)
    np.testing.assert_array_equal(again[0], rows)  # seeded: the same pool


@pytest.mark.parametrize("audio_scale", [1.0, 0.002])
def test_the_explainer_splits_the_grid_by_the_exact_share(factorization, audio_scale):
    names = factorization.get_ordered_component_names()
    audio = {n: audio_scale * w for n, w in zip(names[:4], (0.3, 0.2, 0.15, 0.1))}
    model = GlassBoxModel(factorization, audio, dict(zip(EIGHT_LINES, (0.2, 0.12, 0.06))), bias=0.3)
    explainer = MusicLIMEExplainer(random_state=0, progress=False, sampler="factorial", grid_allocation="by_attribution")
    exp = explainer.explain_instance_with_factorization(factorization, LineIndexedString("\n".join(EIGHT_LINES)),
                                                        model, num_samples=2500, labels=None)
    allocation = exp.metadata["parameters"]["allocation"]
    share = exp.metadata["modality_attribution"]["labels"]["1"]["audio_share"]
    assert allocation["audio_share"] == pytest.approx(share, abs=1e-4)
    assert (allocation["k_audio"], allocation["k_text"]) == attribution_grid_sizes(2500, 16, 8, False, share)
    assert len(np.unique(exp.data[:, :16], axis=0)) <= allocation["k_audio"]
    assert len(exp.data) == allocation["rows"] <= 2500
    if audio_scale == 1.0:  # the planted audio leads its ranking
        assert allocation["k_audio"] > allocation["k_text"]
        assert {f["feature"] for f in exp.get_explanation(1, 10) if f["type"] == "audio"} >= set(names[:2])
    else:
        assert allocation["k_text"] > allocation["k_audio"]


def test_the_workflow_stages_fit_the_rows_the_predict_stage_kept(tmp_path):
    song = write_song(tmp_path / "songs", "s0", seed=0)
    stems = separate_song(song, tmp_path / "sep")
    masks_slice = {"num_samples": 600, "temporal_segments": SEGMENTS, "modality": "both", "lyrics_unit": "line",
                   "sampler": "factorial", "seed": 0, "grid_allocation": "by_attribution"}
    masks_npz = perturb(stems, song["lyrics"], masks_slice, "s0", tmp_path / "masks.npz", tmp_path / "masks.yaml")
    model = {**glassbox_slice(stems), "requires": [], "memory_budget_mb": 64}
    coalitions = attribute(stems, song["lyrics"], "line", model, tmp_path / "coalitions.npz", tmp_path / "c.yaml")
    predictions_npz = predict(stems, masks_npz, song["lyrics"], coalitions, model, tmp_path / "predictions.npz",
                              tmp_path / "predictions.yaml", progress=False)
    meta, arrays = load_arrays(predictions_npz)
    _, pool = load_arrays(masks_npz)
    rows = arrays["mask_rows"]
    assert len(rows) == len(arrays["predictions"]) == meta["allocation"]["rows"] and rows[0] == 0
    assert len(pool["masks"]) == len(pool["grid_cells"]) > len(rows)  # a pool, of which the split keeps a corner
    fit_slice = {"kernel_width": 25.0, "distance_scale": 1.0, "feature_selection": "auto", "num_features": 20,
                 "labels": None}
    out = fit(masks_npz, predictions_npz, fit_slice, song, {}, tmp_path / "explanation.json", tmp_path / "fit.yaml")
    document = json.loads(out.read_text(encoding="utf-8"))
    assert document["metadata"]["samples_used"] == len(rows)
    assert document["metadata"]["parameters"]["allocation"] == meta["allocation"]
