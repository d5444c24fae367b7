"""The tile grid over the overlap, and the overlap's whole-pixel window."""

import numpy as np
import pytest
from affine import Affine
from rasterio.windows import Window
from shapely.geometry import box

from sarlign.errors import InputError
from sarlign.tiling.grid import Tile, overlap_window, tile_grid

TRANSFORM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 4_000_000.0)


def _coverage(area: Window, tiles) -> np.ndarray:
    """Count of tiles over each pixel of ``area``."""
    count = np.zeros((int(area.height), int(area.width)), dtype=int)
    for t in tiles:
        w = t.window
        y0, x0 = int(w.row_off - area.row_off), int(w.col_off - area.col_off)
        count[y0 : y0 + int(w.height), x0 : x0 + int(w.width)] += 1
    return count


def _px_box(x0, y0, x1, y1, transform=TRANSFORM):
    """A polygon in map coordinates from pixel bounds."""
    (ax, ay), (bx, by) = transform @ (x0, y0), transform @ (x1, y1)
    return box(min(ax, bx), min(ay, by), max(ax, bx), max(ay, by))


@pytest.mark.parametrize(
    "area,size,overlap",
    [(Window(0, 0, 1024, 1024), 512, 0), (Window(7, 13, 1000, 700), 256, 32), (Window(3, 5, 600, 530), 128, 0)],
)
def test_tiles_cover_area_exactly_and_stay_inside(area, size, overlap):
    """Every pixel of the area is in a tile; no tile pixel lies outside the area; full-size tiles."""
    tiles = tile_grid(area, size, overlap)
    assert (_coverage(area, tiles) >= 1).all()
    for t in tiles:
        w = t.window
        assert (w.width, w.height) == (size, size)
        assert area.col_off <= w.col_off and w.col_off + w.width <= area.col_off + area.width
        assert area.row_off <= w.row_off and w.row_off + w.height <= area.row_off + area.height


def test_last_tile_snapped_to_far_edge():
    """1000 px with 256-px tiles: starts 0, 256, 512 and the last snapped to 1000 - 256."""
    tiles = tile_grid(Window(10, 20, 1000, 300), 256, 0)
    cols = sorted({int(t.window.col_off) for t in tiles})
    rows = sorted({int(t.window.row_off) for t in tiles})
    assert cols == [10, 266, 522, 10 + 1000 - 256]
    assert rows == [20, 20 + 300 - 256]


def test_each_tile_knows_the_strips_its_previous_neighbours_hold():
    """``covered``: the overlap with the tile before in the row (columns) and in the column (rows) — the
    grid's overlap, or more for the snapped last row and column; nothing for the first ones."""
    tiles = tile_grid(Window(10, 20, 1000, 300), 256, 0)
    by_col = {int(t.window.col_off): t.covered[0] for t in tiles}
    by_row = {int(t.window.row_off): t.covered[1] for t in tiles}
    assert by_col == {10: 0, 266: 0, 522: 0, 754: 522 + 256 - 754}
    assert by_row == {20: 0, 64: 20 + 256 - 64}
    overlapping = tile_grid(Window(0, 0, 1000, 1000), 200, 50)
    assert sorted({t.covered[0] for t in overlapping}) == [0, 50, 150]
    assert {t.covered for t in tile_grid(Window(0, 0, 1024, 1024), 512, 0)} == {(0, 0)}


def test_overlap_between_neighbours_is_honoured():
    """Neighbouring tiles overlap by exactly ``overlap`` px except where the last one is snapped."""
    tiles = tile_grid(Window(0, 0, 1000, 1000), 200, 50)
    cols = sorted({int(t.window.col_off) for t in tiles})
    assert cols == [0, 150, 300, 450, 600, 750, 800]
    assert (_coverage(Window(0, 0, 1000, 1000), tiles) >= 1).all()


def test_rows_and_cols_index_the_grid():
    """(row, col) indices match the tile positions and ids are zero-padded."""
    tiles = tile_grid(Window(0, 0, 1024, 600), 512, 0)
    assert [(t.row, t.col) for t in tiles] == [(0, 0), (0, 1), (1, 0), (1, 1)]
    assert tiles[3].tile_id == "r001c001"
    assert len({t.tile_id for t in tiles}) == len(tiles)


def test_small_area_gives_one_smaller_tile():
    """An area smaller than the tile size gives one tile exactly the area."""
    tiles = tile_grid(Window(5, 6, 100, 70), 512, 0)
    assert len(tiles) == 1
    assert tiles[0].window == Window(5, 6, 100, 70)


def test_one_axis_shorter_than_tile():
    """A strip narrower than a tile gets tiles of the strip's height."""
    tiles = tile_grid(Window(0, 0, 1100, 100), 512, 0)
    assert len(tiles) == 3
    assert all(t.window.height == 100 and t.window.width == 512 for t in tiles)


@pytest.mark.parametrize("size,overlap", [(16, 0), (31, 0), (512, 512), (512, 600), (512, -1)])
def test_bad_size_or_overlap_raise(size, overlap):
    with pytest.raises(ValueError):
        tile_grid(Window(0, 0, 1000, 1000), size, overlap)


def test_tile_polygon_in_reference_crs():
    """A tile's polygon is its window's bounds through the geotransform."""
    tile = Tile(0, 1, Window(512, 0, 512, 256))
    assert tile.polygon(TRANSFORM).bounds == (505_120.0, 4_000_000.0 - 2_560.0, 510_240.0, 4_000_000.0)


def test_overlap_window_of_pixel_aligned_overlap():
    """An overlap on pixel edges gives exactly its window."""
    assert overlap_window(_px_box(10, 20, 60, 90), TRANSFORM, 100, 100) == Window(10, 20, 50, 70)


def test_overlap_window_clipped_to_grid():
    """An overlap reaching beyond the grid is clipped to the grid."""
    assert overlap_window(_px_box(-30, 50, 80, 140), TRANSFORM, 100, 100) == Window(0, 50, 80, 50)


def test_overlap_window_contains_fractional_overlap():
    """Pixel bounds 10.5..40.5 need the window 10..41 (31 px) to be contained."""
    window = overlap_window(_px_box(10.5, 10.5, 40.5, 40.5), TRANSFORM, 100, 100)
    assert window == Window(10, 10, 31, 31)


def test_overlap_window_disjoint_raises():
    with pytest.raises(InputError, match="outside the reference grid"):
        overlap_window(_px_box(200, 200, 300, 300), TRANSFORM, 100, 100)
