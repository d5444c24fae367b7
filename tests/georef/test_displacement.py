"""The displacement product: a richer model's field sampled on a coarse reference grid, as a COG."""

from __future__ import annotations

import math

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS

from sarlign.georef.displacement import sample_displacement, write_displacement_cog
from sarlign.georef.robust import apply
from sarlign.georef.smooth_models import fit_local, fit_supported_polynomial

REFERENCE = Affine(10, 0, 500_000, 0, -10, 5_000_000)  # EPSG:32633, 10 m, north up
UTM = CRS.from_epsg(32633)
SHIFT = np.array([[1.0, 0.0, 3.0], [0.0, 1.0, -2.0]])  # the content the SAR shows at p lies at p + (3, −2) px


def _ties(count: int = 500) -> tuple[np.ndarray, np.ndarray]:
    """Tie points over the left half of a 1000² scene: the shift plus a 4 px bump along x."""
    rng = np.random.default_rng(0)
    src = rng.uniform([0, 0], [500, 1000], (count, 2))
    bump = 4 * np.exp(-((src - [250, 500]) ** 2).sum(axis=1) / (2 * 150**2))
    return src, apply(SHIFT, src) + np.column_stack([bump, np.zeros(count)]) + rng.normal(0, 0.2, src.shape)


def test_the_field_is_sampled_in_map_units_east_and_north_and_nodata_beyond_the_tie_points():
    model = fit_local(*_ties())
    grid = sample_displacement(model, REFERENCE, UTM, (1000, 1000))
    assert grid.step == 8 and grid.values.shape == (3, 125, 125)
    dx, dy, sigma = grid.values
    right = np.isnan(dx[:, 70:])  # x ≥ 560 px: beyond the tie points' hull
    assert right.all() and np.isnan(sigma[:, 70:]).all()
    # Far from the bump, the shift: +3 px east is +30 m, −2 px down the rows is +20 m north.
    assert abs(dx[5, 5] - 30) < 3 and abs(dy[5, 5] - 20) < 3
    # At the bump's centre, (250, 500) px → node (31, 62): 4 px more to the east.
    assert abs(dx[62, 31] - 70) < 4 and abs(dy[62, 31] - 20) < 3
    among = sigma[np.isfinite(sigma)]
    assert 0 < np.median(among) < 0.2 * 10  # within 0.2 px of the tie points' field, in metres


def test_sigma_from_fewer_tie_points_bounds_the_full_one_from_above():
    model = fit_local(*_ties(1200))
    at = np.random.default_rng(1).uniform([20, 20], [480, 980], (200, 2))
    full, thinned = model.inner.standard_deviation(at), model.inner.thinned(300).standard_deviation(at)
    assert np.all(thinned >= full - 1e-9) and thinned.mean() < 2 * full.mean()


def test_the_cog_carries_the_bands_units_and_nodata_and_a_polynomial_has_no_sigma(tmp_path):
    model = fit_supported_polynomial(*_ties(), order=2)
    grid = sample_displacement(model, REFERENCE, UTM, (1000, 1000))
    path = tmp_path / "d.tif"
    write_displacement_cog(grid, path)
    with rasterio.open(path) as product:
        assert product.descriptions == ("dx", "dy", "sigma") and product.units == ("metre",) * 3
        assert math.isnan(product.nodata) and product.crs == UTM and product.transform == REFERENCE @ Affine.scale(8)
        assert product.tags()["step_px"] == "8"
        values = product.read()
    np.testing.assert_array_equal(values[:2], grid.values[:2])
    assert np.isnan(values[2]).all() and np.isfinite(values[0]).any()
