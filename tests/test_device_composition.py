"""The tensor path (predict_fn opting in with ``torch_device``) equals the NumPy path, on CPU tensors."""

import numpy as np
import pytest
import torch

from musiclime.method.scoring.composers import HostComposer, make_composer, model_device
from musiclime.method.scoring.device_composer import DeviceComposer, compose_on_device
from musiclime.method.scoring.inference import predict_masks, predict_original
from musiclime.method.modality import FeatureLayout
from musiclime.models.demo_classifier import DemoClassifier, DemoModelConfig, DemoPredictor
from musiclime.method.estimation.sampling import sample_masks
from musiclime import StemFactorization
from .conftest import noise_stems


@pytest.fixture(scope="module")
def song():
    return StemFactorization(noise_stems(22050, 3.0, seed=4), sample_rate=22050, temporal_segments=5)


@pytest.fixture(scope="module")
def demo_predictor():
    torch.manual_seed(0)  # freshly initialised weights: the real forward pass, untrained
    return DemoPredictor(DemoClassifier(DemoModelConfig()), device="cpu", batch_size=8)


class NumpyOnly:
    """The same model without the opt-in: the explainer hands it NumPy arrays."""

    def __init__(self, predictor):
        self.predictor, self.types = predictor, set()

    def __call__(self, texts, audios):
        self.types.add(type(audios))
        return self.predictor(texts, audios)


class TensorRecorder(NumpyOnly):
    torch_device = "cpu"


@pytest.mark.parametrize("weights", ["binary", "real"])
def test_device_composition_on_cpu_tensors_equals_numpy(song, weights):
    rng = np.random.default_rng(0)
    shape = (11, song.get_number_components())
    masks = rng.integers(0, 2, shape) if weights == "binary" else rng.uniform(-0.5, 1.5, shape)
    expected = song.compose_batch(masks)
    composer = DeviceComposer(song, block_rows=16, device="cpu")
    composed = composer.compose(masks)
    assert isinstance(composed, torch.Tensor) and composed.shape == (11, song.nb_timesteps)
    assert composed.data_ptr() == composer.buffer.data_ptr()  # written in place into the reused buffer
    np.testing.assert_allclose(composed.numpy(), expected, atol=1e-5)
    stems = torch.from_numpy(song.stems)
    direct = compose_on_device(stems, song.boundaries, torch.from_numpy(masks.astype(np.float32)),
                               torch.empty(11, song.nb_timesteps))
    np.testing.assert_array_equal(direct.numpy(), composed.numpy())


def test_tensor_path_gives_the_numpy_path_probabilities(song, demo_predictor, text_factorization):
    layout = FeatureLayout("both", song.get_number_components(), text_factorization.num_words())
    masks = sample_masks(40, layout.num_features, random_state=2)
    numpy_model, tensor_model = NumpyOnly(demo_predictor), TensorRecorder(demo_predictor)
    assert model_device(numpy_model) is None and model_device(tensor_model) == "cpu"
    assert model_device(demo_predictor) == "cpu"  # the demo model opts in
    on_host = predict_masks(song, text_factorization, masks, layout, numpy_model, batch_size=16, progress=False)
    as_tensors = predict_masks(song, text_factorization, masks, layout, tensor_model, batch_size=16, progress=False)
    assert numpy_model.types == {np.ndarray} and tensor_model.types == {torch.Tensor}
    np.testing.assert_allclose(as_tensors.predictions, on_host.predictions, atol=1e-5)
    assert on_host.n_calls == as_tensors.n_calls == 3
    np.testing.assert_allclose(predict_original(song, text_factorization, tensor_model),
                               predict_original(song, text_factorization, numpy_model), atol=1e-6)


def test_host_composer_caches_tables_only_within_budget(song):
    masks = np.random.default_rng(1).integers(0, 2, (10, song.get_number_components()))
    generous, plan = make_composer(song, None, 100, 8, budget_bytes=1 << 30)
    assert isinstance(generous, HostComposer) and generous.tables is not None and plan.block_rows == 100
    tables_bytes = 16 * song.nb_timesteps * 4
    tight, tight_plan = make_composer(song, None, 100, 8, budget_bytes=tables_bytes + 8 * song.nb_timesteps * 4)
    assert tight.tables is None and tight_plan.model_batch == 8
    np.testing.assert_array_equal(generous.compose(masks), tight.compose(masks))
    as_tensor, _ = make_composer(song, "cpu", 100, 8, budget_bytes=1 << 30)
    out = as_tensor.compose(masks)
    assert isinstance(out, torch.Tensor) and np.shares_memory(out.numpy(), as_tensor.buffer)
