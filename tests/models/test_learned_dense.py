"""The learned dense descriptor network and its matcher."""


import pytest
import torch

from sarlign.models.learned_dense import DescriptorNet, LearnedDenseMatcher, load_descriptor_net
from sarlign.training.objectives import OBJECTIVES


def test_forward_shapes_dtype_and_unit_norm():
    net = DescriptorNet(orientations=6, width=8, dim=12)
    for modality in ("optical", "sar"):
        out = net(torch.rand(2, 1, 40, 48), modality)
        assert out.shape == (2, 12, 40, 48) and out.dtype == torch.float32
        torch.testing.assert_close(out.norm(dim=1), torch.ones(2, 40, 48))


def test_stems_are_modality_specific():
    net = DescriptorNet(width=8, dim=8)
    image = torch.rand(1, 1, 32, 32)
    assert not torch.allclose(net(image, "optical"), net(image, "sar"))


def test_a_few_gradient_steps_lower_the_loss_on_a_tiny_batch():
    torch.manual_seed(0)
    net = DescriptorNet(width=8, dim=8)
    optical = torch.rand(2, 1, 48, 48)
    sar = optical * 0.5 + 0.2  # same geometry, other radiometry
    warps = torch.tensor([[[1.0, 0, 0], [0, 1.0, 0]]]).repeat(2, 1, 1)
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    generator = torch.Generator().manual_seed(0)

    def loss_value() -> torch.Tensor:
        dense = OBJECTIVES["learned-dense"]
        settings = {"points": 64, "temperature": 0.07, "loss": dense.defaults}
        return dense.loss(net, (optical, sar, warps), settings, generator.manual_seed(0))[0]

    before = loss_value().item()
    for _ in range(15):
        optimiser.zero_grad()
        loss_value().backward()
        optimiser.step()
    assert loss_value().item() < before


def test_weights_round_trip_and_checksum(tmp_path, save_weights):
    net = DescriptorNet(width=8, dim=8)
    path = save_weights(net, tmp_path / "w.pt")
    loaded, _ = load_descriptor_net(path)
    image = torch.rand(1, 1, 32, 32)
    torch.testing.assert_close(loaded(image, "sar"), net.eval()(image, "sar"))
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ValueError, match="sha256"):
        load_descriptor_net(path)


def test_matcher_uses_given_weights(tmp_path, save_weights):
    net = DescriptorNet(width=8, dim=8)
    path = save_weights(net, tmp_path / "w.pt")
    matcher = LearnedDenseMatcher(weights=str(path))
    ref, sar = matcher.describe(torch.rand(1, 1, 64, 64), torch.rand(1, 1, 80, 80))
    assert ref.shape == (1, 8, 64, 64) and sar.shape == (1, 8, 80, 80)
