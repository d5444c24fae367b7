"""The kriged local field: its covariance from the tie points, its prediction, its standard deviation."""

from __future__ import annotations

import numpy as np

from sarlign.georef.kriging import Covariance, fit_covariance, krige, noise_weights
from sarlign.georef.robust import apply

AFFINE = np.array([[1.0004, 0.0003, 6.0], [-0.0002, 0.9997, -3.0]])


def bump(points: np.ndarray) -> np.ndarray:
    """(N, 2) a 4 px bump, 180 px wide, at (400, 500), pointing right and up."""
    weight = np.exp(-((points - [400, 500]) ** 2).sum(axis=1) / (2 * 180**2))
    return 4 * weight[:, None] * np.array([0.6, -0.8])


def _template_grid(step: int = 32, extent: int = 1024, template: int = 128) -> np.ndarray:
    """Template centres on a ``step`` grid, as a dense matcher places them."""
    centres = np.arange(template / 2, extent - template / 2 + 1, step)
    return np.stack(np.meshgrid(centres, centres), -1).reshape(-1, 2).astype(float)


def _shared_noise(points: np.ndarray, sigma: float, template: int, rng: np.random.Generator) -> np.ndarray:
    """(N, 2) matching noise that overlapping templates share: each template's error is the mean of
    independent errors of the 16 px cells it covers (so neighbours 32 px apart share 75 % of them)."""
    cells = int(1024 / 16)
    fine = rng.normal(0, 1, (cells, cells, 2))
    noise = np.empty((len(points), 2))
    half = template // 32
    for k, (x, y) in enumerate(points):
        i, j = int(y // 16), int(x // 16)
        noise[k] = fine[i - half : i + half, j - half : j + half].mean(axis=(0, 1))
    return noise / noise.std() * sigma


def test_a_field_is_followed_within_the_noise_and_its_trend_is_the_affine():
    rng = np.random.default_rng(0)
    src = _template_grid()
    dst = apply(AFFINE, src) + bump(src) + _shared_noise(src, 0.4, 128, rng)
    weights = np.ones(len(src))
    field = krige(src, dst, fit_covariance(src, dst - src, weights, 128.0), weights)
    inner = np.stack(np.meshgrid(np.linspace(150, 870, 13), np.linspace(150, 870, 13)), -1).reshape(-1, 2)
    error = np.linalg.norm(field(inner) - apply(AFFINE, inner) - bump(inner), axis=1)
    affine_error = np.linalg.norm(apply(field.affine, inner) - apply(AFFINE, inner) - bump(inner), axis=1)
    # The noise (0.4 px) is shared over a template's width, so part of it looks like field at that scale.
    assert np.sqrt(np.mean(error**2)) < 0.35 < 1.0 < np.sqrt(np.mean(affine_error**2))


def test_where_the_tie_points_hold_no_field_the_model_is_their_affine():
    """Noise alone, shared by overlapping templates: the fitted sill is a small share of the noise, and
    the field the prediction adds is far below the noise (a field through each tie point would carry it)."""
    rng = np.random.default_rng(1)
    src = _template_grid()
    dst = apply(AFFINE, src) + _shared_noise(src, 0.5, 128, rng)
    weights = np.ones(len(src))
    covariance = fit_covariance(src, dst - src, weights, 128.0)
    field = krige(src, dst, covariance, weights)
    assert covariance.sill_px2 < 0.3 * covariance.nugget_px2
    assert np.sqrt(np.mean(field.field(src) ** 2)) < 0.15
    np.testing.assert_allclose(field.affine[:, :2], AFFINE[:, :2], atol=1e-3)
    np.testing.assert_allclose(field.affine[:, 2], AFFINE[:, 2], atol=0.6)


def test_the_standard_deviation_is_small_among_tie_points_and_grows_beyond_them():
    rng = np.random.default_rng(2)
    src = rng.uniform(0, 500, (200, 2))  # the top-left quarter of a 1000² scene
    dst = apply(AFFINE, src) + bump(src) + rng.normal(0, 0.3, src.shape)
    field = krige(src, dst, Covariance(2.0, 200.0, 0.09, 0.0), np.ones(len(src)))
    among, beyond = field.standard_deviation(np.array([[250.0, 250.0]])), field.standard_deviation(np.array([[950.0, 950.0]]))
    assert among[0] < 0.2 and beyond[0] > 1.0  # beyond: the field's sill, and the trend's extrapolation


def test_leave_one_out_residuals_equal_refits_without_the_point():
    rng = np.random.default_rng(3)
    src = rng.uniform(0, 1000, (60, 2))
    dst = apply(AFFINE, src) + bump(src) + rng.normal(0, 0.3, src.shape)
    dst[7] += [6.0, -5.0]  # a wrong match: its neighbours' field is far from it
    covariance, weights = Covariance(2.0, 250.0, 0.09, 0.0), np.ones(len(src))
    held_out, deviation = krige(src, dst, covariance, weights).leave_one_out()
    others = np.arange(len(src)) != 7
    refit = krige(src[others], dst[others], covariance, weights[others])
    np.testing.assert_allclose(held_out[7], dst[7] - refit(src[7:8])[0], atol=1e-6)
    assert np.linalg.norm(held_out[7]) > 6 > 1.0 > np.median(np.linalg.norm(held_out[others], axis=1))
    assert np.linalg.norm(held_out[7]) / deviation[7] > 10 > 3 > np.median(np.linalg.norm(held_out[others], axis=1) / deviation[others])


def test_leave_one_out_deviations_are_those_of_noise_that_overlapping_templates_share():
    """Noise alone, shared by neighbours: each tie point against the others, in its own deviations, is a
    unit normal per axis (a deviation that ignored the sharing would be far too small or too large)."""
    rng = np.random.default_rng(4)
    src = _template_grid()
    dst = apply(AFFINE, src) + _shared_noise(src, 0.5, 128, rng)
    weights = np.ones(len(src))
    field = krige(src, dst, fit_covariance(src, dst - src, weights, 128.0), weights)
    held_out, deviation = field.leave_one_out()
    standardised = held_out / deviation[:, None]
    assert 0.7 < standardised.std() < 1.3, standardised.std()


def test_weaker_matches_are_noisier_and_the_median_one_weighs_one():
    weights = noise_weights(np.array([0.2, 0.4, 0.6, 0.8]))
    assert np.all(np.diff(weights) < 0) and np.median(weights) == 1.0
    assert noise_weights(np.array([0.01, 0.5, 0.999])).tolist() == [4.0, 1.0, 0.25]
