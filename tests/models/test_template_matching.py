"""FFT normalised cross-correlation surfaces and their sub-pixel peaks."""

import numpy as np
import pytest
import torch

from sarlign.models.template_matching import find_peaks, ncc_surfaces


def _random(shape, seed=0):
    return torch.rand(*shape, generator=torch.Generator().manual_seed(seed))


def _smooth_field(x: np.ndarray, y: np.ndarray, seed=3) -> np.ndarray:
    """A smooth analytic pattern: Gaussian blobs of σ ≈ 4 px, defined at any real (x, y)."""
    rng = np.random.default_rng(seed)
    out = np.zeros_like(x, dtype=np.float64)
    for cx, cy, amp in zip(rng.uniform(-10, 90, 60), rng.uniform(-10, 90, 60), rng.uniform(0.5, 1.0, 60)):
        out += amp * np.exp(-((x - cx) ** 2 + (y - cy) ** 2) / (2 * 4.0**2))
    return out


def test_exact_shifted_copies_peak_at_their_displacement():
    """Three templates cut from their regions at known offsets: NCC ≈ 1 at exactly those displacements."""
    t, r = 24, 5
    regions = _random((3, 4, t + 2 * r, t + 2 * r))
    shifts = [(0, 0), (3, -2), (-5, 4)]  # (dx, dy)
    templates = torch.stack([regions[i, :, r + dy : r + dy + t, r + dx : r + dx + t] for i, (dx, dy) in enumerate(shifts)])
    surfaces = ncc_surfaces(templates, regions)
    assert surfaces.shape == (3, 2 * r + 1, 2 * r + 1)
    for i, (dx, dy) in enumerate(shifts):
        flat = surfaces[i].argmax().item()
        assert (flat % (2 * r + 1) - r, flat // (2 * r + 1) - r) == (dx, dy)
        assert surfaces[i, r + dy, r + dx].item() == pytest.approx(1.0, abs=1e-4)
    assert surfaces.max() <= 1 + 1e-4 and surfaces.min() >= -1 - 1e-4


def test_ncc_is_invariant_to_gain_and_offset():
    """NCC of a template against 3·region + 5 equals that against the region."""
    t, r = 16, 3
    regions = _random((1, 2, t + 2 * r, t + 2 * r), 1)
    templates = _random((1, 2, t, t), 2)
    a, b = ncc_surfaces(templates, regions), ncc_surfaces(templates, 3 * regions + 5)
    assert torch.allclose(a, b, atol=1e-4)


def test_ncc_matches_direct_computation():
    """Compare with a direct zero-mean NCC at a few displacements."""
    t, r = 12, 2
    region = _random((1, 3, t + 2 * r, t + 2 * r), 4).double()
    template = _random((1, 3, t, t), 5).double()
    surface = ncc_surfaces(template, region)[0]
    for dx, dy in [(0, 0), (-2, 1), (2, -2)]:
        window = region[0, :, r + dy : r + dy + t, r + dx : r + dx + t]
        a, b = template[0] - template[0].mean(), window - window.mean()
        direct = (a * b).sum() / (a.norm() * b.norm())
        assert surface[r + dy, r + dx].item() == pytest.approx(direct.item(), abs=1e-6)


@pytest.mark.parametrize("dx,dy", [(0.3, -0.4), (2.5, 1.2), (-3.7, 0.0), (1.15, -2.85)])
def test_subpixel_peak_recovers_fractional_shift(dx, dy):
    """A smooth pattern shifted by a fractional (dx, dy) is found within 0.15 px."""
    t, r = 48, 6
    ys, xs = np.mgrid[0 : t + 2 * r, 0 : t + 2 * r].astype(np.float64)
    region = _smooth_field(xs, ys)
    yt, xt = np.mgrid[0:t, 0:t].astype(np.float64)
    template = _smooth_field(xt + r + dx, yt + r + dy)
    surfaces = ncc_surfaces(torch.from_numpy(template)[None, None], torch.from_numpy(region)[None, None])
    peaks = find_peaks(surfaces)
    assert peaks.bracketed.item()
    assert peaks.dx.item() == pytest.approx(dx, abs=0.15)
    assert peaks.dy.item() == pytest.approx(dy, abs=0.15)
    assert peaks.peak.item() > 0.95


def test_find_peaks_on_constructed_surfaces():
    """Integer peak, border peak (not bracketed, no sub-pixel step) and second-best peak outside the exclusion."""
    s = torch.zeros(2, 9, 9)
    s[0, 4 + 2, 4 - 1] = 0.9  # dx = -1, dy = 2
    s[0, 0, 8] = 0.5  # second peak, far away
    s[0, 4 + 2, 4] = 0.8  # next to the peak: inside the exclusion, and pulls the sub-pixel estimate right
    s[1, 4, 8] = 0.7  # on the border: dx = 4
    s[1, 4, 7] = 0.6
    p = find_peaks(s, exclusion=3)
    assert p.bracketed.tolist() == [True, False]
    assert p.dy[0].item() == pytest.approx(2.0)
    assert -1.0 < p.dx[0].item() < -0.5
    assert p.peak[0].item() == pytest.approx(0.9)
    assert p.second[0].item() == pytest.approx(0.5)
    assert (p.dx[1].item(), p.dy[1].item()) == (4.0, 0.0)


def test_parabola_offset_is_exact_for_a_quadratic():
    """Samples of −(x − 0.3)² − (y + 0.2)² give the vertex exactly."""
    g = torch.arange(-3, 4, dtype=torch.float64)
    surface = -((g.view(1, -1) - 0.3) ** 2) - (g.view(-1, 1) + 0.2) ** 2
    p = find_peaks(surface[None])
    assert p.dx.item() == pytest.approx(0.3) and p.dy.item() == pytest.approx(-0.2)


def test_fast_fft_size_has_only_small_prime_factors():
    from sarlign.models.template_matching import fast_fft_size

    assert [fast_fft_size(n) for n in (1, 7, 37, 148, 149, 151, 512)] == [1, 8, 40, 150, 150, 160, 512]
