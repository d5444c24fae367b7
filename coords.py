"""Applying affine transforms to arrays of points.

Points are (N, 2) arrays of (x, y); for a geotransform, x is the column and y the row, with pixel corners
at integers (GDAL's convention), and the transform maps pixel → map.
"""

from __future__ import annotations

import math

import numpy as np
from affine import Affine
from pyproj import Geod
from rasterio.crs import CRS


def map_points(transform: Affine, xy: np.ndarray) -> np.ndarray:
    """(N, 2) points through ``transform``; returns (N, 2) float64."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    x, y = transform @ (xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])


def map_vectors(transform: Affine, vectors: np.ndarray) -> np.ndarray:
    """(N, 2) displacements (dx, dy) through ``transform``'s linear part only (no offset); returns (N, 2)
    float64. For a geotransform: pixel steps (x right, y down) → steps in map units along the map's x and y."""
    linear = Affine(transform.a, transform.b, 0.0, transform.d, transform.e, 0.0)
    return map_points(linear, vectors)


def metres_per_pixel(transform: Affine, crs: CRS, at_px: tuple[float, float]) -> tuple[float, float]:
    """Ground size in metres of one pixel step along x and along y, at pixel ``at_px`` (x, y).

    Projected CRSs scale by their linear unit; geographic CRSs (degrees) measure on the ellipsoid.
    """
    x0, y0 = transform @ at_px
    x1, y1 = transform @ (at_px[0] + 1, at_px[1])
    x2, y2 = transform @ (at_px[0], at_px[1] + 1)
    if crs.is_geographic:
        geod = Geod(ellps="WGS84")
        return (geod.inv(x0, y0, x1, y1)[2], geod.inv(x0, y0, x2, y2)[2])
    factor = crs.linear_units_factor[1]
    return (math.hypot(x1 - x0, y1 - y0) * factor, math.hypot(x2 - x0, y2 - y0) * factor)
