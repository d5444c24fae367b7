"""Point mapping and pixel ground sizes."""

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS

from sarlign.coords import map_points, map_vectors, metres_per_pixel


def test_map_points_applies_the_transform_to_each_row():
    points = np.array([[0.0, 0.0], [10.0, 5.0]])
    mapped = map_points(Affine(2, 0, 100, 0, -3, 50), points)
    np.testing.assert_allclose(mapped, [[100, 50], [120, 35]])


def test_map_vectors_ignores_the_offset():
    vectors = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, -1.0]])
    mapped = map_vectors(Affine(2, 0.5, 100, 0, -3, 50), vectors)
    np.testing.assert_allclose(mapped, [[2, 0], [1, -6], [5.5, 3]])


def test_metres_per_pixel_projected_and_geographic():
    assert metres_per_pixel(Affine(10, 0, 500000, 0, -10, 4e6), CRS.from_epsg(32633), (5, 5)) == pytest.approx((10, 10))
    # 1e-4 degrees at 60° N: ~5.6 m east-west, ~11.1 m north-south.
    mx, my = metres_per_pixel(Affine(1e-4, 0, 10, 0, -1e-4, 60), CRS.from_epsg(4326), (0, 0))
    assert mx == pytest.approx(5.58, abs=0.02) and my == pytest.approx(11.16, abs=0.02)
