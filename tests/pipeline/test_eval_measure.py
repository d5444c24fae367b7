"""Measuring a registration: phase correlation, window residuals, reading onto a grid, check points."""

import numpy as np
import pytest
import rasterio
from affine import Affine
from scipy import ndimage

from sarlign.georef.robust import fit_least_squares
from sarlign.pipeline.eval_measure import (
    checkpoint_residuals,
    phase_correlation,
    read_on_grid,
    window_residuals,
)
from sarlign.training.volkov import open_png

ROSENHEIM = "geotiff/cfog/cfog_rosenheim_{}"


@pytest.fixture(scope="module")
def sar_image(shared_file):
    """Band 1 of a real 1024² Sentinel-1 VH PNG (Volkov pair 020), float64."""
    with open_png(shared_file("pairs/volkov_s1s2/volkov_020_sar.png")) as src:
        return src.read(1).astype(np.float64)


def shifted_crop(image, dx, dy, size=256, y0=400, x0=400):
    """(moving, fixed): a crop of ``image`` and the same crop of ``image`` shifted by (dx, dy) px (cubic spline)."""
    moving = ndimage.shift(image, (dy, dx), order=3, mode="nearest")
    window = (slice(y0, y0 + size), slice(x0, x0 + size))
    return moving[window], image[window]


# --- phase_correlation ---------------------------------------------------------------------------


def test_phase_correlation_integer_shift_is_exact_with_documented_sign(sar_image):
    """A feature of ``fixed`` at p appears at p + (dx, dy) in ``moving``: the result is +(dx, dy)."""
    moving = np.roll(sar_image, (-4, 7), axis=(0, 1))[300:556, 300:556]  # content moved right 7, up 4
    dx, dy = phase_correlation(moving, sar_image[300:556, 300:556])
    assert (dx, dy) == pytest.approx((7.0, -4.0), abs=0.02)
    # Swapping the arguments reverses the sign.
    assert phase_correlation(sar_image[300:556, 300:556], moving) == pytest.approx((-7.0, 4.0), abs=0.02)


def test_phase_correlation_recovers_subpixel_shift_within_0_15_px(sar_image):
    """A real SAR crop shifted by (2.3, -1.6) px is measured within 0.15 px on each axis."""
    moving, fixed = shifted_crop(sar_image, 2.3, -1.6)
    assert phase_correlation(moving, fixed) == pytest.approx((2.3, -1.6), abs=0.15)


def test_phase_correlation_subpixel_shift_within_0_2_px(sar_image):
    """The same shift is found with the right sign and within 0.2 px (the estimator's current accuracy)."""
    moving, fixed = shifted_crop(sar_image, 2.3, -1.6)
    dx, dy = phase_correlation(moving, fixed)
    assert (dx, dy) == pytest.approx((2.3, -1.6), abs=0.2)


def test_phase_correlation_half_pixel_shift(sar_image):
    """A half-pixel shift (symmetric peak) is found within 0.05 px."""
    moving, fixed = shifted_crop(sar_image, -3.5, 0.5, size=128)
    assert phase_correlation(moving, fixed) == pytest.approx((-3.5, 0.5), abs=0.05)


# --- window_residuals ----------------------------------------------------------------------------


def test_window_residuals_shape_values_and_nan_rows(sar_image):
    """(25, 2) rows in row-major window order; a window with any NaN in the moving image is a NaN row."""
    registered = np.roll(sar_image, (-2, 3), axis=(0, 1))  # shift (3, -2)
    # Window 7 is row 1 (centre y = 0.325 h), column 2 (centre x = 0.5 w): one NaN pixel there.
    h, w = sar_image.shape
    registered[int(0.325 * h), int(0.5 * w)] = np.nan
    residuals = window_residuals(registered, sar_image)
    assert residuals.shape == (25, 2)
    nan_rows = np.flatnonzero(np.isnan(residuals).any(axis=1))
    assert nan_rows.tolist() == [7]
    assert np.isnan(residuals[7]).all()
    others = np.delete(residuals, 7, axis=0)
    np.testing.assert_allclose(others, np.tile([3.0, -2.0], (24, 1)), atol=0.02)


def test_window_residuals_nan_in_original_only_is_not_a_nan_row(sar_image):
    """Only the registered image's missing data blanks a window (the original is assumed complete)."""
    original = sar_image.copy()
    registered = sar_image.copy()
    registered[:50] = np.nan  # outside every window (windows start at 15 % − 64 px ≈ row 89)
    residuals = window_residuals(registered, original)
    assert np.isfinite(residuals).all()
    np.testing.assert_allclose(residuals, 0.0, atol=1e-6)


# --- read_on_grid --------------------------------------------------------------------------------


def test_read_on_grid_same_grid_is_identity_and_nan_outside(tmp_path, write_raster):
    """Read on its own grid: the same values (nodata → NaN); on a grid shifted 10 px left: NaN there."""
    transform = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)
    data = np.random.default_rng(1).uniform(1, 100, (40, 50)).astype(np.float32)
    data[5, 6] = -1.0
    path = write_raster(tmp_path / "a.tif", data, transform=transform, nodata=-1.0)
    same = read_on_grid(path, rasterio.crs.CRS.from_epsg(32633), transform, 50, 40)
    assert same.dtype == np.float64 and same.shape == (40, 50)
    assert np.isnan(same[5, 6])
    # Bilinear weights next to the nodata pixel may blend it out; compare away from it.
    away = np.ones_like(same, dtype=bool)
    away[3:8, 4:9] = False
    np.testing.assert_allclose(same[away], data[away], rtol=1e-6)
    left = read_on_grid(path, rasterio.crs.CRS.from_epsg(32633), transform @ Affine.translation(-10, 0), 50, 40)
    assert np.isnan(left[:, :10]).all()
    np.testing.assert_allclose(left[20:, 12:], data[20:, 2:40], rtol=1e-6)  # grid column j = raster column j − 10


# --- checkpoint_residuals ------------------------------------------------------------------------


def test_checkpoint_residuals_use_pixel_centres():
    """A SAR grid twice as fine: ref pixel (3, 4) is SAR pixel (6.5, 8.5) by centres, residual 0."""
    ref = Affine(10.0, 0.0, 1000.0, 0.0, -10.0, 5000.0)
    sar = Affine(5.0, 0.0, 1000.0, 0.0, -5.0, 5000.0)
    points = np.array([[3.0, 4.0, 6.5, 8.5], [0.0, 0.0, 1.5, -0.5]])  # second: off by (+0.5, −0.5) ref px
    residuals = checkpoint_residuals(points, ref, sar)
    np.testing.assert_allclose(residuals, [[0.0, 0.0], [0.5, -0.5]], atol=1e-9)


def test_checkpoint_residuals_signs_on_identical_grids():
    """With one grid for both, the residual is the SAR point minus the reference point."""
    grid = Affine(10.0, 0.0, 1000.0, 0.0, -10.0, 5000.0)
    residuals = checkpoint_residuals(np.array([[10.0, 20.0, 11.0, 18.0]]), grid, grid)
    np.testing.assert_allclose(residuals, [[1.0, -2.0]], atol=1e-9)


@pytest.fixture(scope="module")
def rosenheim(shared_file):
    """(points (164, 4), reference transform, SAR transform) of the real Rosenheim pair."""
    points = np.loadtxt(shared_file(ROSENHEIM.format("cp.pts")))
    with rasterio.open(shared_file(ROSENHEIM.format("opt.tif"))) as ref, rasterio.open(
        shared_file(ROSENHEIM.format("sar.tif"))
    ) as sar:
        return points, ref.transform, sar.transform


def rmse(residuals):
    return float(np.sqrt(np.mean((residuals**2).sum(axis=1))))


def test_checkpoint_rmse_with_delivered_geotransforms(rosenheim):
    """The 164 Rosenheim check points are ≈ 1.79 px off under the delivered geotransforms."""
    points, ref, sar = rosenheim
    assert points.shape == (164, 4)
    residuals = checkpoint_residuals(points, ref, sar)
    assert residuals.shape == (164, 2)
    assert rmse(residuals) == pytest.approx(1.79, abs=0.02)


def test_checkpoint_rmse_with_affine_fitted_to_the_points(rosenheim):
    """A SAR geotransform from an affine fitted to the check points brings the RMSE to ≈ 0.8 px."""
    points, ref, _ = rosenheim
    centres = points + 0.5
    model = fit_least_squares(centres[:, 2:], centres[:, :2], "affine")  # SAR px → reference px
    sar = ref @ Affine(*model[0], *model[1])
    value = rmse(checkpoint_residuals(points, ref, sar))
    assert 0.75 < value < 0.85
