"""The weights the project ships load and reproduce the validation figures recorded with them."""

import pytest

from sarlign.models.learned_dense import DEFAULT_WEIGHTS, load_descriptor_net
from sarlign.training.data import load_training_pairs
from sarlign.training.train import TrainConfig, validate


def test_shipped_weights_reproduce_their_validation_figures(shared_data):
    net, metadata = load_descriptor_net(DEFAULT_WEIGHTS)
    assert metadata["parameters"] == sum(p.numel() for p in net.parameters()) < 1_000_000
    config = TrainConfig(**metadata["config"])
    figures = validate(net, load_training_pairs(shared_data / "pairs" / "volkov_s1s2"), config)
    recorded = metadata["validation"]
    assert figures["val_loss"] == pytest.approx(recorded["val_loss"], abs=2e-3)
    assert figures["val_top1"] == pytest.approx(recorded["val_top1"], abs=2e-3)
