"""Global polynomials and the smooth local field: what they recover, and the affine beyond the tie points."""

from __future__ import annotations

import numpy as np
import pytest

from sarlign.georef.robust import apply
from sarlign.georef.smooth_models import fit_local, fit_polynomial, fit_supported_polynomial

AFFINE = np.array([[1.002, 0.001, 12.0], [-0.0015, 0.998, -7.0]])


def bumps(points: np.ndarray) -> np.ndarray:
    """A smooth field (px): two Gaussian bumps of 4 and 3 px, 150 and 200 px wide, over a 1000² scene."""
    first = np.exp(-((points - [300, 350]) ** 2).sum(axis=1) / (2 * 150**2))
    second = np.exp(-((points - [700, 650]) ** 2).sum(axis=1) / (2 * 200**2))
    return np.column_stack([4 * first - 1.5 * second, -2 * first + 3 * second])


@pytest.fixture
def noisy_ties():
    rng = np.random.default_rng(0)
    src = rng.uniform(0, 1000, (400, 2))
    return src, apply(AFFINE, src) + bumps(src) + rng.normal(0, 0.25, src.shape)


def test_a_quadratic_mapping_is_recovered_exactly_by_a_polynomial_of_order_2():
    src = np.random.default_rng(1).uniform(0, 1000, (60, 2))
    dst = src + 1e-5 * src[:, ::-1] ** 2 + [3, -2]
    model = fit_polynomial(src, dst, 2)
    np.testing.assert_allclose(model(src), dst, atol=1e-8)
    with pytest.raises(ValueError, match="too few"):
        fit_polynomial(src[:20], dst[:20], 3)


def test_the_local_field_recovers_smooth_bumps_between_the_tie_points(noisy_ties):
    src, dst = noisy_ties
    model = fit_local(src, dst)
    grid = np.stack(np.meshgrid(np.linspace(100, 900, 17), np.linspace(100, 900, 17)), -1).reshape(-1, 2)
    error = np.linalg.norm(model(grid) - (apply(AFFINE, grid) + bumps(grid)), axis=1)
    affine_only = np.linalg.norm(apply(model.affine, grid) - (apply(AFFINE, grid) + bumps(grid)), axis=1)
    assert np.sqrt(np.mean(error**2)) < 0.3 < 1.0 < np.sqrt(np.mean(affine_only**2))


def test_far_from_every_tie_point_the_local_model_is_its_affine(noisy_ties):
    src, dst = noisy_ties
    model = fit_local(src, dst)
    far = np.array([[-3000.0, 500.0], [5000.0, 5000.0], [500.0, -2500.0]])
    np.testing.assert_array_equal(model(far), apply(model.affine, far))
    assert np.abs(model.displacement(src)).max() > 2  # while at the tie points the field is there


def test_a_polynomial_does_not_extrapolate_beyond_the_tie_points_either(noisy_ties):
    """Tie points over the left half only: within it the order-3 polynomial, far to the right the affine."""
    src, dst = noisy_ties
    left = src[:, 0] < 500
    model = fit_supported_polynomial(src[left], dst[left], 3)
    far = np.array([[2500.0, 500.0], [3000.0, 100.0]])
    np.testing.assert_array_equal(model(far), apply(model.affine, far))
    inside = src[left][:20]
    np.testing.assert_allclose(model(inside), fit_polynomial(src[left], dst[left], 3)(inside))
