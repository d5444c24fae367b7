"""The weights the project ships load and reproduce the validation figures recorded with them."""

import pytest

from sarlign.models import learned_cfog, learned_dense, learned_keypoint, patch_verifier
from sarlign.models.checkpoints import load_weights
from sarlign.training.data import load_training_pairs
from sarlign.training.train import TrainConfig, validate

SHIPPED = {
    "learned-cfog": (learned_cfog.DEFAULT_WEIGHTS, lambda path: load_weights(path, learned_cfog.ResidualCfogNet)),
    "learned-dense": (learned_dense.DEFAULT_WEIGHTS, learned_dense.load_descriptor_net),
    "learned-keypoint": (learned_keypoint.DEFAULT_WEIGHTS, learned_keypoint.load_keypoint_net),
    "patch-verifier": (patch_verifier.DEFAULT_WEIGHTS, patch_verifier.load_verifier_net),
}


@pytest.fixture(scope="module")
def validation_pairs(shared_data):
    return load_training_pairs(shared_data / "pairs" / "volkov_s1s2")


@pytest.mark.parametrize("model", sorted(SHIPPED))
def test_shipped_weights_reproduce_their_validation_figures(model, validation_pairs):
    path, load = SHIPPED[model]
    net, metadata = load(path)
    assert metadata["model"] == model
    assert metadata["parameters"] == sum(p.numel() for p in net.state_dict().values()) < 1_000_000
    figures = validate(net, validation_pairs, TrainConfig(**metadata["config"]))
    recorded = metadata["validation"]
    assert set(figures) == set(recorded)
    for name, value in recorded.items():
        assert figures[name] == pytest.approx(value, abs=2e-3), name
