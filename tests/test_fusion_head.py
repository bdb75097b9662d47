"""The late-fusion detector head: learning on synthetic embeddings, train-only preprocessing, saving and
loading, song splits, early stopping, the randomization checks and the training job's files."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from musiclime.common.errors import MusicLimeError
from musiclime.models.fusion.head import (FusionHead, HeadConfig, HeadError, load_head, reinitialise_head,
                                          save_head)
from musiclime.models.fusion.head_training import evaluate_head, train_detector_head, train_head
from musiclime.models.fusion.splits import split_songs

SMALL = dict(hidden=[64, 32], dropout=[0.2, 0.1])


def synthetic(n=200, d_audio=8, d_lyrics=12, seed=0):
    """Embeddings ``(n, d_audio)``, ``(n, d_lyrics)`` and labels ``(n,)``: the class is the sign of a linear
    function of audio dims 0-2 (with a margin); lyrics are noise. Both are shifted and scaled away from
    zero mean / unit variance, so standardisation matters."""
    rng = np.random.default_rng(seed)
    audio = rng.standard_normal((n, d_audio))
    score = audio[:, 0] - audio[:, 1] + 0.5 * audio[:, 2]
    audio[:, 0] += 0.5 * np.sign(score)
    labels = (score > 0).astype(np.int64)
    lyrics = 2.0 * rng.standard_normal((n, d_lyrics)) - 1.0
    return (3.0 * audio + 5.0).astype(np.float32), lyrics.astype(np.float32), labels


def ids(n):
    return [f"song{i:03d}" for i in range(n)]


@pytest.fixture(scope="module")
def data():
    audio, lyrics, labels = synthetic()
    return audio, lyrics, labels, split_songs(labels, ids(len(labels)), seed=0)


def accuracy_on(head, data, name="test"):
    audio, lyrics, labels, split = data
    idx = split[name]
    return evaluate_head(head, audio[idx], lyrics[idx], labels[idx])["accuracy"]


# --- learning ------------------------------------------------------------------------------------
@pytest.mark.parametrize("kind, learning_rate", [("mlp", 1e-3), ("logreg", 1e-2)])
def test_heads_learn_the_audio_signal_and_lyrics_alone_stay_near_chance(data, kind, learning_rate):
    audio, lyrics, labels, split = data
    config = HeadConfig(kind=kind, learning_rate=learning_rate)
    fusion, _ = train_head(audio, lyrics, labels, split, config)
    lyrics_only, _ = train_head(None, lyrics, labels, split, config, modalities=("lyrics",))
    assert accuracy_on(fusion, data) >= 0.9
    assert 0.25 <= accuracy_on(lyrics_only, data) <= 0.7
    assert lyrics_only.modalities == ("lyrics",)
    # the unused modality is ignored, even when None
    probs = lyrics_only.probabilities(None, lyrics[:5])
    assert probs.shape == (5, 2) and torch.allclose(probs.sum(1), torch.ones(5))


def test_logreg_is_one_linear_layer_and_mlp_follows_hidden_sizes(data):
    audio, lyrics, labels, split = data
    logreg, _ = train_head(audio, lyrics, labels, split, HeadConfig(kind="logreg", epochs=2))
    assert [type(m).__name__ for m in logreg.network] == ["Linear"]
    mlp, _ = train_head(audio, lyrics, labels, split, HeadConfig(epochs=2, hidden=(16, 8), dropout=(0.5, 0.3)))
    linears = [m for m in mlp.network if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(8 + 12, 16), (16, 8), (8, 2)]
    assert [m.p for m in mlp.network if isinstance(m, torch.nn.Dropout)] == [0.5, 0.3]


def test_training_is_seeded_and_leaves_the_global_rng_alone(data):
    audio, lyrics, labels, split = data
    config = HeadConfig(epochs=5, seed=4, **SMALL)
    torch.manual_seed(123)
    before = torch.rand(3)
    torch.manual_seed(123)
    first, history = train_head(audio, lyrics, labels, split, config)
    assert torch.equal(torch.rand(3), before)
    second, history2 = train_head(audio, lyrics, labels, split, config)
    other, _ = train_head(audio, lyrics, labels, split, HeadConfig.from_dict({**config.to_dict(), "seed": 5}))
    assert history == history2
    assert all(torch.equal(a, b) for a, b in zip(first.state_dict().values(), second.state_dict().values()))
    assert not torch.equal(first.network[0].weight, other.network[0].weight)


# --- preprocessing --------------------------------------------------------------------------------
def test_standardisation_and_pca_are_fitted_on_the_training_split_only():
    audio, lyrics, labels = synthetic(n=100, d_lyrics=200, seed=1)
    split = split_songs(labels, ids(100), seed=0)
    train = split["train"]
    config = HeadConfig(epochs=1, pca_audio=3, pca_lyrics=1000, **SMALL)
    head, _ = train_head(audio, lyrics, labels, split, config)
    scaler = head.scalers["audio"]
    np.testing.assert_allclose(scaler.mean.numpy(), audio[train].mean(0), rtol=1e-5)
    np.testing.assert_allclose(scaler.std.numpy(), audio[train].std(0), rtol=1e-4)
    assert not np.allclose(scaler.mean.numpy(), audio.mean(0), rtol=1e-5)
    # PCA: the principal axes of the standardised training embeddings (sklearn agrees up to sign)
    from sklearn.decomposition import PCA
    standardised = (audio[train] - audio[train].mean(0)) / audio[train].std(0)
    reference = PCA(n_components=3, svd_solver="full").fit(standardised).components_
    components = scaler.pca_components.numpy()
    np.testing.assert_allclose(np.abs(np.sum(components * reference, axis=1)), 1.0, atol=1e-4)
    # lyrics: 1000 components asked, capped at n_train - 1 (dim 200 > n_train)
    assert head.scalers["lyrics"].pca_components.shape == (len(train) - 1, 200)
    assert head.network[0].in_features == 3 + len(train) - 1
    # forward takes raw embeddings: the scalers apply the stored statistics
    x = torch.from_numpy(audio[:4])
    expected = ((x - scaler.mean) / scaler.std - scaler.pca_mean) @ scaler.pca_components.T
    torch.testing.assert_close(scaler(x), expected)


# --- saving and loading ---------------------------------------------------------------------------
def test_save_and_load_give_identical_probabilities(data, tmp_path):
    audio, lyrics, labels, split = data
    head, _ = train_head(audio, lyrics, labels, split, HeadConfig(epochs=3, pca_lyrics=4, **SMALL))
    paths = save_head(head, tmp_path / "head")
    assert sorted(p.name for p in paths) == ["head.json", "head.pt"]
    loaded = load_head(tmp_path / "head")
    assert isinstance(loaded, FusionHead) and not loaded.training
    assert loaded.config == head.config and loaded.modalities == head.modalities
    assert torch.equal(loaded.probabilities(audio, lyrics), head.probabilities(audio, lyrics))
    info = json.loads((tmp_path / "head" / "head.json").read_text())
    assert info["label_names"] == ["AI-Generated", "Human-Composed"]
    assert info["input_dims"] == {"audio": 8, "lyrics": 12} and info["pca_components"]["lyrics"] == 4


def test_load_head_names_a_missing_or_corrupt_folder(data, tmp_path):
    audio, lyrics, labels, split = data
    with pytest.raises(HeadError, match="nowhere.*does not exist"):
        load_head(tmp_path / "nowhere")
    head, _ = train_head(audio, lyrics, labels, split, HeadConfig(epochs=1, **SMALL))
    folder = tmp_path / "broken"
    save_head(head, folder)
    (folder / "head.pt").write_bytes(b"not a torch file")
    with pytest.raises(HeadError, match=r"broken.*head\.pt is corrupt"):
        load_head(folder)
    (folder / "head.pt").unlink()
    with pytest.raises(HeadError, match=r"broken has no head\.pt"):
        load_head(folder)
    save_head(head, folder)
    (folder / "head.json").write_text("{not json")
    with pytest.raises(HeadError, match=r"broken.*head\.json is corrupt"):
        load_head(folder)
    # a head.json that disagrees with head.pt (other sizes)
    save_head(head, folder)
    info = json.loads((folder / "head.json").read_text())
    info["input_dims"]["audio"] = 9
    (folder / "head.json").write_text(json.dumps(info))
    with pytest.raises(HeadError, match=r"broken.*does not match"):
        load_head(folder)


# --- splits ---------------------------------------------------------------------------------------
def test_split_is_stratified_seeded_and_covers_both_classes_in_every_split():
    labels = np.array([0] * 40 + [1] * 60)
    first = split_songs(labels, ids(100), seed=3)
    assert sorted(np.concatenate(list(first.values())).tolist()) == list(range(100))
    assert {k: len(v) for k, v in first.items()} == {"train": 70, "validation": 15, "test": 15}
    for name in ("validation", "test"):  # 15 % of each class
        assert np.bincount(labels[first[name]]).tolist() == [6, 9]
    same, other = split_songs(labels, ids(100), seed=3), split_songs(labels, ids(100), seed=4)
    assert all(np.array_equal(first[k], same[k]) for k in first)
    assert not np.array_equal(first["test"], other["test"])
    # three songs a class: one in each split
    small = split_songs([0, 0, 0, 1, 1, 1, 1], ids(7), seed=0)
    for name, idx in small.items():
        assert set(np.asarray([0, 0, 0, 1, 1, 1, 1])[idx]) == {0, 1}, name


def test_split_column_wins_when_given_for_every_song():
    labels = [0, 1, 0, 1, 0, 1, 0, 1]
    column = ["train", "train", "validation", "validation", "test", "test", "train", "train"]
    split = split_songs(labels, ids(8), seed=0, column=column)
    assert split["train"].tolist() == [0, 1, 6, 7]
    assert split["validation"].tolist() == [2, 3] and split["test"].tolist() == [4, 5]
    assert split_songs(labels * 2, ids(16), seed=0, column=[None] * 16)["train"].size > 0  # empty column: drawn


@pytest.mark.parametrize("labels, column, message", [
    ([0, 1, 0, 1, 0, 1, 0, 1], ["train", "train", "validation", "validation", "test", "tst", "train", "train"],
     r"song005='tst'"),
    ([0, 1, 0, 1, 0, 1, 0, 1], ["train", "train", "validation", None, "test", "test", "train", "train"],
     r"not for 1: 'song003'"),
    ([0, 1, 0, 1, 0, 1, 0, 1], ["train", "train", "validation", "train", "test", "test", "train", "train"],
     r"validation split has 1 songs of class 0 \(AI-Generated\) and 0 of class 1"),
    ([0] * 8, None, r"labels of one class: every song is 0 \(AI-Generated\) \(8 songs\)"),
    ([0, 0, 0, 0, 1, 1], None, r"class 1 \(Human-Composed\) has 2 songs \('song004', 'song005'\)"),
    ([0, 1, None, 1, 0, float("nan"), 0, 1], None, r"2 of 8 songs have no label: 'song002', 'song005'"),
    ([0, 1, 2, 1, 0, 1, 0, 1], None, r"song002=2"),
])
def test_split_refusals_name_songs_or_counts(labels, column, message):
    with pytest.raises(HeadError, match=message):
        split_songs(labels, ids(len(labels)), seed=0, column=column)


# --- early stopping and the randomization checks --------------------------------------------------
def test_early_stopping_stops_when_validation_loss_stalls_and_keeps_the_best_weights():
    audio, lyrics, _ = synthetic(n=80, seed=2)
    labels = np.random.default_rng(0).integers(0, 2, 80)  # noise labels: the head can only overfit
    split = split_songs(labels, ids(80), seed=0)
    config = HeadConfig(epochs=300, patience=8, learning_rate=1e-2, **SMALL)
    head, history = train_head(audio, lyrics, labels, split, config)
    assert history["stopped_early"] and history["epochs"] < 300
    losses = history["validation_loss"]
    assert len(losses) == history["epochs"] == history["best_epoch"] + 8
    assert history["best_epoch"] == int(np.argmin(losses)) + 1
    val = split["validation"]
    logits = head(torch.from_numpy(audio[val]), torch.from_numpy(lyrics[val]))
    kept = torch.nn.functional.cross_entropy(logits, torch.from_numpy(labels[val])).item()
    assert kept == pytest.approx(min(losses), rel=1e-5)
    assert kept < losses[-1] - 1e-4  # the last epoch's weights were worse and were not kept


def test_reinitialise_head_changes_predictions_and_keeps_scalers(data):
    audio, lyrics, labels, split = data
    head, _ = train_head(audio, lyrics, labels, split, HeadConfig(epochs=20, pca_audio=4, **SMALL))
    before = head.probabilities(audio, lyrics)
    fresh = reinitialise_head(head, seed=1)
    assert torch.equal(head.probabilities(audio, lyrics), before)  # the original is untouched
    assert (fresh.probabilities(audio, lyrics) - before).abs().max() > 0.05
    for name, buffer in head.scalers.state_dict().items():
        assert torch.equal(fresh.scalers.state_dict()[name], buffer), name
    assert torch.equal(reinitialise_head(head, 1).network[0].weight, fresh.network[0].weight)
    assert not torch.equal(reinitialise_head(head, 2).network[0].weight, fresh.network[0].weight)


def test_shuffled_labels_leave_nothing_to_learn(tmp_path):
    audio, lyrics, labels = synthetic(n=300, seed=5)
    config = HeadConfig(**SMALL)
    true = train_detector_head(audio, lyrics, labels, ids(300), config, tmp_path / "true")
    shuffled = train_detector_head(audio, lyrics, labels, ids(300), config, tmp_path / "shuffled",
                                   shuffle_labels=True)
    assert shuffled["shuffle_labels"] and not true["shuffle_labels"]
    assert shuffled["split"] == true["split"]
    assert true["test"]["accuracy"] >= 0.9
    assert shuffled["test"]["accuracy"] <= true["test"]["accuracy"] - 0.2
    assert shuffled["test"]["roc_auc"] < 0.75


# --- the training job -----------------------------------------------------------------------------
def test_train_detector_head_writes_head_and_metrics_and_is_deterministic(data, tmp_path):
    audio, lyrics, labels, _ = data
    config = HeadConfig(epochs=40, **SMALL)
    metrics = train_detector_head(audio, lyrics, labels, ids(len(labels)), config, tmp_path / "a")
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["head.json", "head.pt", "metrics.json"]
    written = json.loads((tmp_path / "a" / "metrics.json").read_text())
    assert written == json.loads(json.dumps(metrics))
    for key in ("test", "validation", "train", "audio_only", "lyrics_only", "split", "history", "shuffle_labels",
                "config"):
        assert key in written, key
    assert set(written["test"]) == {"accuracy", "balanced_accuracy", "roc_auc", "confusion_matrix", "n"}
    assert set(written["audio_only"]) >= {"test", "validation"} and "test" in written["lyrics_only"]
    assert {"epochs", "best_epoch"} <= set(written["history"])
    assert sum(map(sum, written["test"]["confusion_matrix"])) == written["test"]["n"] == 30
    assert sorted(sum(written["split"].values(), [])) == ids(len(labels))
    assert written["audio_only"]["test"]["accuracy"] >= 0.9 > written["lyrics_only"]["test"]["accuracy"] + 0.2
    assert HeadConfig.from_dict(written["config"]) == config
    # the saved head reproduces the test metrics
    test = [ids(len(labels)).index(song) for song in written["split"]["test"]]
    assert evaluate_head(load_head(tmp_path / "a"), audio[test], lyrics[test], labels[test]) == written["test"]
    again = train_detector_head(audio, lyrics, labels, ids(len(labels)), config, tmp_path / "b")
    assert json.dumps(again) == json.dumps(metrics)


# --- config ---------------------------------------------------------------------------------------
def test_head_config_from_dict_checks_keys_and_values():
    config = HeadConfig.from_dict({"kind": "logreg", "hidden": [8], "dropout": [0.1], "pca_audio": 16})
    assert config.hidden == (8,) and HeadConfig.from_dict(config.to_dict()) == config
    assert HeadConfig.from_dict(None) == HeadConfig()
    with pytest.raises(HeadError, match=r"model\.head\.layers") as error:
        HeadConfig.from_dict({"layers": 3})
    assert isinstance(error.value, MusicLimeError)
    with pytest.raises(HeadError, match=r"model\.head\.kind='svm'"):
        HeadConfig.from_dict({"kind": "svm"})
    with pytest.raises(HeadError, match=r"model\.head\.dropout.*one probability per hidden layer"):
        HeadConfig.from_dict({"hidden": [8, 4], "dropout": [0.1]})
    with pytest.raises(HeadError, match=r"model\.head\.pca_lyrics"):
        HeadConfig.from_dict({"pca_lyrics": 0})
