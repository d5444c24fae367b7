"""Applying affine transforms to arrays of points.

Points are (N, 2) arrays of (x, y); for a geotransform, x is the column and y the row, with pixel corners
at integers (GDAL's convention), and the transform maps pixel → map.
"""

from __future__ import annotations

import numpy as np
from affine import Affine


def map_points(transform: Affine, xy: np.ndarray) -> np.ndarray:
    """(N, 2) points through ``transform``; returns (N, 2) float64."""
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    x, y = transform @ (xy[:, 0], xy[:, 1])
    return np.column_stack([x, y])
