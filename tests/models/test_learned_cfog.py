"""CFOG with a learned correction: exactly CFOG at initialisation, a constrained SAR side, and its matcher."""

import pytest
import torch

from sarlign.models import registry
from sarlign.models.cfog import CfogMatcher
from sarlign.models.learned_cfog import ResidualCfogNet


@pytest.fixture(scope="module")
def real_tiles(shared_file, png_grey):
    """A 192² optical and SAR crop of Volkov pair 101, (1, 1, 192, 192) each."""
    optical = torch.from_numpy(png_grey(shared_file("pairs/volkov_s1s2/volkov_101_opt.png")))[None, None]
    sar = torch.from_numpy(png_grey(shared_file("pairs/volkov_s1s2/volkov_101_sar.png")))[None, None]
    return optical[..., 300:492, 400:592], sar[..., 300:492, 400:592]


def _perturbed(net: ResidualCfogNet) -> ResidualCfogNet:
    """``net`` with random head weights, as training would leave them."""
    torch.manual_seed(0)
    with torch.no_grad():
        for head in net.heads.values():
            head.weight.normal_(0, 0.3)
            head.bias.normal_(0, 0.1)
    return net


@pytest.mark.parametrize("sar_head", ["gain", "none"])
def test_descriptors_are_cfogs_at_initialisation(real_tiles, sar_head):
    optical, sar = real_tiles
    net = ResidualCfogNet(sar_head=sar_head)
    expected_optical, expected_sar = CfogMatcher().describe(optical, sar)
    with torch.no_grad():
        assert torch.equal(net(optical, "optical"), expected_optical)
        assert torch.equal(net(sar, "sar"), expected_sar)


def test_trained_heads_change_the_optical_side_and_only_gain_the_sar_side(real_tiles):
    optical, sar = real_tiles
    net = _perturbed(ResidualCfogNet(width=8, sar_head="gain"))
    cfog_optical, cfog_sar = CfogMatcher().describe(optical, sar)
    with torch.no_grad():
        out_optical, out_sar = net(optical, "optical"), net(sar, "sar")
    assert out_optical.shape == cfog_optical.shape == (1, 9, 192, 192)
    assert not torch.allclose(out_optical, cfog_optical, atol=1e-3)
    # A per-pixel gain: every SAR pixel's descriptor is CFOG's times one positive factor, so the balance
    # between orientations (which structure a pixel shows) is CFOG's.
    strong = (cfog_sar > 1e-2).all(dim=1)  # pixels where every channel is well above rounding
    ratio = out_sar / cfog_sar
    assert strong.sum() > 1000
    assert ((ratio.amax(dim=1) / ratio.amin(dim=1))[strong] - 1).abs().max() < 1e-4
    assert not torch.allclose(out_sar, cfog_sar, atol=1e-3)


def test_sar_head_none_keeps_the_sar_side_plain_cfog_after_training(real_tiles):
    optical, sar = real_tiles
    net = _perturbed(ResidualCfogNet(width=8, sar_head="none"))
    assert set(net.heads) == {"optical"}
    with torch.no_grad():
        assert torch.equal(net(sar, "sar"), CfogMatcher().describe(optical, sar)[1])


def test_rejects_an_unknown_sar_head():
    with pytest.raises(ValueError, match="sar_head"):
        ResidualCfogNet(sar_head="residual")


def test_matcher_at_initialisation_finds_cfogs_tie_points(real_tiles, tmp_path, save_weights):
    optical, sar = real_tiles
    path = save_weights(ResidualCfogNet(width=8), tmp_path / "init.pt")
    reference, sar_tile = optical[0, 0, 32:160, 32:160], sar[0, 0]  # a 128² tile with a 32 px SAR margin
    valid, sar_valid = torch.ones(reference.shape, dtype=torch.bool), torch.ones(sar_tile.shape, dtype=torch.bool)
    options = {"template": 64, "stride": 16}
    learned = registry.build("learned-cfog", weights=str(path), **options).match(reference, valid, sar_tile, sar_valid)
    cfog = registry.build("cfog", **options).match(reference, valid, sar_tile, sar_valid)
    assert len(cfog) > 0
    for name in ("reference_xy", "sar_xy", "score"):
        assert (getattr(learned, name) == getattr(cfog, name)).all(), name
