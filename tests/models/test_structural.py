"""CFOG dense structural descriptors."""

import math

import pytest
import torch

from sarlign.models.structural import average_pool, cfog_descriptor, oriented_gradients


def _image(b=2, h=48, w=40, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 1, h, w, generator=g)


@pytest.mark.parametrize("k", [6, 9])
def test_descriptor_shape_sign_and_norm(k):
    """(B, K, H, W), non-negative, L2 norm over K at most 1."""
    d = cfog_descriptor(_image(), orientations=k)
    assert d.shape == (2, k, 48, 40)
    assert (d >= 0).all()
    norms = d.norm(dim=1)
    assert (norms <= 1 + 1e-6).all()
    assert norms.mean() > 0.9  # textured image: norms near 1


def test_descriptor_with_presmoothing_keeps_contract():
    d = cfog_descriptor(_image(1, 32, 32), presmooth=1.0)
    assert d.shape == (1, 9, 32, 32) and (d >= 0).all() and (d.norm(dim=1) <= 1 + 1e-6).all()


def test_flat_image_gives_zero_descriptor():
    d = cfog_descriptor(torch.full((1, 1, 16, 16), 0.3))
    assert torch.allclose(d, torch.zeros_like(d))


def test_contrast_reversal_invariance():
    """|gradient| per orientation: 1 − image gives the same descriptor (optical vs SAR polarity)."""
    image = _image(1)
    assert torch.allclose(cfog_descriptor(image), cfog_descriptor(1 - image), atol=1e-5)


def test_oriented_gradients_pick_edge_direction():
    """A ramp along x answers most on orientation 0 (θ = 0), not at all at θ = π/2."""
    ramp = torch.linspace(0, 1, 32).view(1, 1, 1, 32).expand(1, 1, 32, 32).contiguous()
    g = oriented_gradients(ramp, orientations=4)[0, :, 8:-8, 8:-8].mean(dim=(1, 2))
    assert g.argmax().item() == 0
    assert g[2].item() == pytest.approx(0.0, abs=1e-6)
    assert g[1].item() == pytest.approx(g[0].item() * math.cos(math.pi / 4), rel=1e-4)


def test_average_pool():
    x = torch.arange(16.0).view(1, 1, 4, 4)
    assert average_pool(x, 2).tolist() == [[[[2.5, 4.5], [10.5, 12.5]]]]
    assert average_pool(x, 1) is x
    assert average_pool(torch.zeros(1, 3, 10, 9), 4).shape == (1, 3, 2, 2)
