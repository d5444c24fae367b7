"""The per-tile shift field over a scene as a labelled, georeferenced ``xarray.Dataset``."""

from __future__ import annotations

import numpy as np
import xarray as xr
from affine import Affine

from sarlign.tiling.grid import Tile


def shift_field(
    tiles: list[Tile],
    transform: Affine,
    crs_wkt: str,
    tile_shift: dict[str, tuple[float, float]],
    tile_counts: dict[str, tuple[int, int]],
) -> xr.Dataset:
    """Median SAR-minus-reference shift of each tile's inlier tie points, on the tile grid.

    Args:
        tile_shift: tile id → (dx, dy) median shift in reference-grid pixels (tiles without inliers absent).
        tile_counts: tile id → (tie points, inliers).
    Returns:
        Dataset with dims (y, x) = tile rows, columns; coordinates are the tile centres in the reference CRS;
        variables ``dx_px``, ``dy_px`` (NaN where the tile has no inlier), ``tie_points``, ``inliers``.
    """
    rows = 1 + max(t.row for t in tiles)
    cols = 1 + max(t.col for t in tiles)
    dx = np.full((rows, cols), np.nan)
    dy = np.full((rows, cols), np.nan)
    counts = np.zeros((2, rows, cols), dtype=np.int64)
    centre_x = np.zeros(cols)
    centre_y = np.zeros(rows)
    for t in tiles:
        cx, cy = transform @ (t.window.col_off + t.window.width / 2, t.window.row_off + t.window.height / 2)
        centre_x[t.col], centre_y[t.row] = cx, cy
        if t.tile_id in tile_shift:
            dx[t.row, t.col], dy[t.row, t.col] = tile_shift[t.tile_id]
        counts[:, t.row, t.col] = tile_counts.get(t.tile_id, (0, 0))
    return xr.Dataset(
        {
            "dx_px": (("y", "x"), dx, {"units": "pixel", "long_name": "SAR minus reference shift along x"}),
            "dy_px": (("y", "x"), dy, {"units": "pixel", "long_name": "SAR minus reference shift along y"}),
            "tie_points": (("y", "x"), counts[0]),
            "inliers": (("y", "x"), counts[1]),
        },
        coords={"x": centre_x, "y": centre_y},
        attrs={"crs_wkt": crs_wkt, "description": "per-tile shift of the SAR before correction"},
    )
