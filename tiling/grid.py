"""The tile grid: square windows on the reference grid covering the overlap of the two footprints.

Windows are ``rasterio.windows.Window`` in reference-grid pixels (col_off = x, row_off = y; corners at
integers). Tile polygons are in the reference CRS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from affine import Affine
from rasterio.windows import Window, bounds, from_bounds
from shapely.geometry import Polygon, box

from sarlign.axis import window_starts
from sarlign.errors import InputError


@dataclass(frozen=True)
class Tile:
    """One cell of the grid: its (row, col) index, its window on the reference grid, and how far (px) its
    left columns and top rows lie inside the tile before it in its row and in its column (the part a
    neighbour searches already; (0, 0) for the first tile, wider than the grid's overlap where the last
    row or column is snapped to the far edge)."""

    row: int
    col: int
    window: Window
    covered: tuple[int, int] = (0, 0)  # (columns, rows)

    @property
    def tile_id(self) -> str:
        return f"r{self.row:03d}c{self.col:03d}"

    def polygon(self, transform: Affine) -> Polygon:
        """The tile's outline in the reference CRS."""
        return box(*bounds(self.window, transform))


def overlap_window(overlap: Polygon, transform: Affine, width: int, height: int) -> Window:
    """The smallest whole-pixel window of the reference grid that contains ``overlap`` (reference CRS)."""
    exact = from_bounds(*overlap.bounds, transform=transform)
    # Grow outward to whole pixels (a tolerance keeps float noise from adding a pixel).
    col0, row0 = math.floor(exact.col_off + 1e-6), math.floor(exact.row_off + 1e-6)
    col1 = math.ceil(exact.col_off + exact.width - 1e-6)
    row1 = math.ceil(exact.row_off + exact.height - 1e-6)
    window = Window(col0, row0, col1 - col0, row1 - row0)
    full = Window(0, 0, width, height)
    try:
        return window.intersection(full)
    except Exception:  # rasterio raises WindowError when they are disjoint
        raise InputError("reference", "the overlap with the SAR lies outside the reference grid") from None


def tile_grid(area: Window, size: int = 512, overlap: int = 0) -> list[Tile]:
    """Cut ``area`` (reference-grid pixels) into ``size``×``size`` tiles that overlap by ``overlap`` pixels.

    Tiles never leave ``area``: the last row and column are snapped to its far edge (so they may overlap
    their neighbour more than ``overlap``), and an area smaller than ``size`` gives smaller tiles.
    """
    if size < 32:
        raise ValueError(f"tile size must be at least 32 px, got {size}")
    if not 0 <= overlap < size:
        raise ValueError(f"tile overlap must be in [0, {size}), got {overlap}")
    col_off, row_off = int(area.col_off), int(area.row_off)
    width, height = int(area.width), int(area.height)
    step = size - overlap
    tile_width, tile_height = min(size, width), min(size, height)
    rows = [row_off + s for s in window_starts(height, size, step)]
    cols = [col_off + s for s in window_starts(width, size, step)]
    return [
        Tile(r, c, Window(x, y, tile_width, tile_height), (_inside_previous(cols, c, tile_width),
                                                           _inside_previous(rows, r, tile_height)))
        for r, y in enumerate(rows)
        for c, x in enumerate(cols)
    ]


def _inside_previous(starts: list[int], index: int, size: int) -> int:
    """Pixels at the start of window ``index`` (of ``size`` px, at ``starts``) that the one before covers."""
    return max(0, starts[index - 1] + size - starts[index]) if index > 0 else 0
