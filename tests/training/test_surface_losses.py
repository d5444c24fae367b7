"""Losses on the engine's NCC surfaces, SAR views with known shifts, and training in the matcher's loop."""

import numpy as np
import pytest
import torch
from scipy.ndimage import gaussian_filter

from sarlign.models.learned_cfog import ResidualCfogNet
from sarlign.models.template_matching import find_peaks, ncc_surfaces
from sarlign.training.data import Augmentation, TrainingPair, _sample, load_training_pairs, sample_views
from sarlign.training.objectives import OBJECTIVES
from sarlign.training.surface_losses import (
    displacement_grid,
    peak_error,
    relative_peak_error,
    surface_cross_entropy,
)

RADIUS = 6


def _surfaces(peaks: torch.Tensor) -> torch.Tensor:
    """(N, 13, 13) paraboloids 1 − 0.05·|d − peak|² with their maxima at ``peaks`` (N, 2) px: the engine's
    parabola fit recovers such a peak exactly."""
    dx, dy = displacement_grid(RADIUS, torch.device("cpu"))
    return 1 - 0.05 * ((dx[None] - peaks[:, 0, None, None]) ** 2 + (dy[None] - peaks[:, 1, None, None]) ** 2)


def test_cross_entropy_is_lowest_at_the_surfaces_peak():
    peaks = torch.tensor([[2.3, -1.6], [-4.0, 0.4]])
    surfaces = _surfaces(peaks)
    at_peak = surface_cross_entropy(surfaces, peaks, 0.02, 0.75)
    for offset in ([1.0, 0.0], [0.0, -2.0], [3.0, 3.0]):
        assert surface_cross_entropy(surfaces, peaks + torch.tensor(offset), 0.02, 0.75) > at_peak


def test_peak_error_uses_the_engines_sub_pixel_peak_and_only_captured_surfaces():
    peaks = torch.tensor([[2.3, -1.6], [-4.0, 0.4], [0.45, 3.2]])
    surfaces = _surfaces(peaks)
    torch.testing.assert_close(torch.stack([find_peaks(surfaces).dx, find_peaks(surfaces).dy], 1), peaks)
    loss, hit = peak_error(surfaces, peaks)
    assert loss.item() < 1e-6 and hit.item() == 1.0
    truth = peaks + torch.tensor([[0.4, 0.0], [0.0, 0.0], [4.0, 0.0]])  # the last one is not captured
    loss, hit = peak_error(surfaces, truth)
    assert hit.item() == pytest.approx(2 / 3) and loss.item() > 0
    # The loss moves the surfaces' values: it has a gradient through the parabola.
    surfaces.requires_grad_(True)
    peak_error(surfaces, truth)[0].backward()
    assert surfaces.grad.abs().sum() > 0


def test_relative_error_ignores_an_error_common_to_both_views():
    shifts = torch.tensor([[[1.2, -0.7], [-2.5, 3.1]], [[0.0, 0.0], [3.3, 1.9]]])  # (B, 2 views, 2)
    common = torch.tensor([[2.4, -1.3], [-1.1, 0.8]])  # each crop's alignment error, unknown to the loss
    surfaces = _surfaces((shifts + common[:, None]).reshape(-1, 2))
    loss, size = relative_peak_error(surfaces, shifts)
    assert loss.item() < 1e-6 and size.item() < 1e-3
    wrong = shifts.clone()
    wrong[:, 1, 0] += 0.5
    loss, size = relative_peak_error(surfaces, wrong)
    assert loss.item() > 0.05 and size.item() == pytest.approx(0.5, abs=1e-3)


def test_sar_views_show_the_optical_centre_at_their_known_shifts():
    rng = np.random.default_rng(1)
    image = torch.from_numpy(gaussian_filter(rng.random((600, 600)), 3).astype(np.float32))[None]
    sar_to_optical = np.array([[1.0, 0, 3.5], [0, 1.0, -2.0]])
    pair = TrainingPair("x", image, 1 - _sample(image, sar_to_optical, 600), sar_to_optical)
    augmentation = Augmentation(rotation_deg=2, scale=0.02, optical_gamma=0, sar_noise=0, shift_px=6, resolution=2)
    optical, sar, shifts = sample_views([pair], 4, 112, np.random.default_rng(0), augmentation)
    assert optical.shape == (4, 1, 112, 112) and sar.shape == (4, 2, 112, 112) and shifts.shape == (4, 2, 2)
    net = ResidualCfogNet()
    templates = net(optical, "optical")[..., 24:88, 24:88].repeat_interleave(2, dim=0)
    regions = net(sar.reshape(8, 1, 112, 112), "sar")[..., 16:96, 16:96]
    peaks = find_peaks(ncc_surfaces(templates, regions))
    found = torch.stack([peaks.dx, peaks.dy], dim=1)
    assert (found - shifts.reshape(8, 2)).abs().max() < 0.25


@pytest.fixture(scope="module")
def real_pairs(shared_data):
    return load_training_pairs(shared_data / "pairs" / "volkov_s1s2")[:2]


def test_training_steps_lower_the_loss_on_a_tiny_real_batch(real_pairs):
    objective = OBJECTIVES["learned-cfog"]
    torch.manual_seed(0)
    net = ResidualCfogNet(width=8)
    augmentation = Augmentation(rotation_deg=2, scale=0.02, optical_gamma=0, sar_noise=0, shift_px=7)
    batch = objective.draw(real_pairs, 2, 160, np.random.default_rng(0), augmentation)  # the matcher's 128² templates, ±10 px
    settings = {"temperature": 0.02, "loss": objective.defaults}
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    before = objective.loss(net, batch, settings, None)[0].item()
    for _ in range(8):
        optimiser.zero_grad()
        objective.loss(net, batch, settings, None)[0].backward()
        optimiser.step()
    assert objective.loss(net, batch, settings, None)[0].item() < before
