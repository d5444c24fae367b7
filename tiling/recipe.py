"""Read recipes: everything a worker needs to read one tile pair, and nothing heavy.

A recipe holds paths, band numbers, scalings and windows — small and picklable — so the Dask graph
carries no pixels and no open file handles; workers open the files themselves.
"""

from __future__ import annotations

from dataclasses import dataclass

from affine import Affine
from rasterio.windows import Window

from sarlign.tiling.scaling import BandScaling


@dataclass(frozen=True)
class ReferenceGrid:
    """A pixel grid: CRS (WKT), geotransform (pixel corners at integers) and size in pixels. Matching
    happens on the reference raster's; a resampled output is written on it or on one derived from it."""

    crs_wkt: str
    transform: Affine
    width: int
    height: int

    def extended(self, margin: int) -> ReferenceGrid:
        """The same grid grown by ``margin`` pixels on every side (pixel (0, 0) moves to (-margin, -margin))."""
        return ReferenceGrid(
            self.crs_wkt,
            self.transform @ Affine.translation(-margin, -margin),
            self.width + 2 * margin,
            self.height + 2 * margin,
        )


@dataclass(frozen=True)
class ClassMask:
    """Pixels to leave out by a classification raster on a coarser grid of the same CRS (Sentinel-2 L2A's
    scene classification, SCL, at 20 m): band ``band`` of ``path``, pixels of ``classes`` left out."""

    path: str
    band: int
    classes: tuple[int, ...]


@dataclass(frozen=True)
class RasterSource:
    """One input: its path, the 1-based bands used, their scalings, the nodata value in force, and
    optionally a classification whose pixels of some classes are left out (clouds)."""

    path: str
    bands: tuple[int, ...]
    scalings: tuple[BandScaling, ...]
    nodata: float | None
    mask: ClassMask | None = None


@dataclass(frozen=True)
class TileRecipe:
    """One tile pair: the reference window and the SAR window around it, both on the reference grid.

    The SAR is read through a warped view onto ``grid`` with ``margin`` extra pixels on each side, so a
    feature of the reference tile can be found in the SAR up to ``margin`` pixels away. ``covered``: the
    tile's left columns and top rows (px) that the tiles before it in its row and column hold too (see
    :class:`sarlign.tiling.grid.Tile`).
    """

    tile_id: str
    window: Window
    reference: RasterSource
    sar: RasterSource
    grid: ReferenceGrid
    margin: int
    covered: tuple[int, int] = (0, 0)
