"""Open and validate the two input rasters; their footprints and overlap.

Conventions: a geotransform (``affine.Affine``) maps pixel (x=column, y=row) to map coordinates, with
pixel corners at integer coordinates (GDAL's convention; a pixel's centre is at +0.5). Footprints are
shapely polygons in the CRS stated beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from shapely.geometry import Polygon, box

from sarlign.coords import map_points
from sarlign.errors import InputError


@dataclass(frozen=True)
class RasterInfo:
    """What the planner needs to know about one input raster (no pixels)."""

    path: str
    crs: CRS
    transform: Affine
    width: int
    height: int
    count: int
    dtypes: tuple[str, ...]
    nodata: float | None
    band_descriptions: tuple[str | None, ...]

    @property
    def pixel_size(self) -> tuple[float, float]:
        """Pixel width and height in CRS units (positive)."""
        return (abs(self.transform.a) + abs(self.transform.b), abs(self.transform.d) + abs(self.transform.e))

    def pixel_to_map(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) pixel positions (x=column, y=row, corners at integers) → (N, 2) map (x, y) in ``crs``."""
        return map_points(self.transform, xy)

    def map_to_pixel(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) map (x, y) in ``crs`` → (N, 2) pixel positions (x=column, y=row, corners at integers)."""
        return map_points(~self.transform, xy)

    def footprint(self) -> Polygon:
        """The raster's outline in its own CRS."""
        return shapely.transform(box(0, 0, self.width, self.height), lambda xy: map_points(self.transform, xy))

    def footprint_in(self, crs: CRS, densify_px: float = 64.0) -> Polygon:
        """The raster's outline in ``crs``, with edges densified every ``densify_px`` pixels before reprojection."""
        outline = box(0, 0, self.width, self.height).segmentize(densify_px)
        in_own_crs = shapely.transform(outline, lambda xy: map_points(self.transform, xy))
        if CRS.from_user_input(crs) == self.crs:
            return in_own_crs
        to_crs = Transformer.from_crs(self.crs, crs, always_xy=True)
        return shapely.transform(in_own_crs, lambda xy: np.column_stack(to_crs.transform(xy[:, 0], xy[:, 1])))


def open_raster(path: str, role: str) -> RasterInfo:
    """Read and check a raster's metadata; ``role`` ("reference" or "SAR") appears in error messages.

    Raises:
        InputError: the file is not a readable raster, or has no CRS or no geotransform.
    """
    try:
        with rasterio.open(path) as src:
            if src.crs is None:
                if src.gcps[0]:
                    raise InputError(path, f"the {role} is georeferenced by GCPs only; give a raster with a geotransform")
                raise InputError(path, f"the {role} raster has no CRS")
            if src.transform == Affine.identity():
                raise InputError(path, f"the {role} raster has no geotransform")
            return RasterInfo(
                path=str(path),
                crs=src.crs,
                transform=src.transform,
                width=src.width,
                height=src.height,
                count=src.count,
                dtypes=tuple(src.dtypes),
                nodata=src.nodata,
                band_descriptions=tuple(src.descriptions),
            )
    except RasterioIOError as exc:
        raise InputError(path, f"cannot be opened as a raster ({exc})") from None


def check_bands(info: RasterInfo, bands: tuple[int, ...], role: str) -> None:
    """Raise ``InputError`` unless every 1-based band index exists in the raster."""
    missing = [b for b in bands if not 1 <= b <= info.count]
    if missing:
        raise InputError(info.path, f"the {role} has {info.count} band(s); band {missing[0]} does not exist")


def overlap_in_reference_crs(reference: RasterInfo, sar: RasterInfo) -> Polygon:
    """The intersection of both footprints, in the reference CRS.

    Raises:
        InputError: the footprints do not overlap (names the SAR file).
    """
    overlap = reference.footprint().intersection(sar.footprint_in(reference.crs))
    if overlap.is_empty or overlap.area == 0:
        raise InputError(sar.path, f"does not overlap the reference {reference.path}")
    return overlap
