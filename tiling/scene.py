"""Open and validate the two input rasters; their footprints and overlap.

Conventions: a geotransform (``affine.Affine``) maps pixel (x=column, y=row) to map coordinates, with
pixel corners at integer coordinates (GDAL's convention; a pixel's centre is at +0.5). A SAR may instead be
georeferenced by ground control points only (a Sentinel-1 GRD measurement GeoTIFF as ESA delivers it): its
GCPs (``Pixel``/``Line`` in the same corner convention, ``X``/``Y`` in the GCPs' CRS) are then the
georeferencing, through GDAL's GCP transformer (a polynomial fitted to them, as GDAL's warper uses).
Footprints are shapely polygons in the CRS stated beside them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import rasterio
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.transform import GCPTransformer
from shapely.geometry import Polygon, box

from sarlign.coords import map_points
from sarlign.errors import InputError
from sarlign.tiling.gdal_errors import GDAL_ERRORS


@dataclass(frozen=True)
class RasterInfo:
    """What the planner needs to know about one input raster (no pixels).

    Georeferenced either by ``transform`` (``gcps`` empty) or by ``gcps`` alone (``transform`` None); ``crs``
    is the geotransform's or the GCPs' CRS.
    """

    path: str
    crs: CRS
    transform: Affine | None
    width: int
    height: int
    count: int
    dtypes: tuple[str, ...]
    nodata: float | None
    band_descriptions: tuple[str | None, ...]
    gcps: tuple[GroundControlPoint, ...] = ()

    def pixel_to_map(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) pixel positions (x=column, y=row, corners at integers) → (N, 2) map (x, y) in ``crs``."""
        if self.transform is not None:
            return map_points(self.transform, xy)
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        with GCPTransformer(list(self.gcps)) as transformer:
            x, y = transformer.xy(xy[:, 1], xy[:, 0], offset="ul")
        return np.column_stack([x, y]).astype(np.float64)

    def map_to_pixel(self, xy: np.ndarray) -> np.ndarray:
        """(N, 2) map (x, y) in ``crs`` → (N, 2) pixel positions (x=column, y=row, corners at integers)."""
        if self.transform is not None:
            return map_points(~self.transform, xy)
        xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
        with GCPTransformer(list(self.gcps)) as transformer:
            rows, cols = transformer.rowcol(xy[:, 0], xy[:, 1], op=np.asarray)
        return np.column_stack([cols, rows]).astype(np.float64)

    def footprint(self, densify_px: float = 64.0) -> Polygon:
        """The raster's outline in its own CRS (edges densified every ``densify_px`` pixels, which matters
        for GCP georeferencing)."""
        return shapely.transform(box(0, 0, self.width, self.height).segmentize(densify_px), self.pixel_to_map)

    def footprint_in(self, crs: CRS, densify_px: float = 64.0) -> Polygon:
        """The raster's outline in ``crs``, with edges densified every ``densify_px`` pixels before reprojection."""
        in_own_crs = self.footprint(densify_px)
        if CRS.from_user_input(crs) == self.crs:
            return in_own_crs
        to_crs = Transformer.from_crs(self.crs, crs, always_xy=True)
        return shapely.transform(in_own_crs, lambda xy: np.column_stack(to_crs.transform(xy[:, 0], xy[:, 1])))


MIN_GCPS = 3  # GDAL's first-order GCP polynomial needs three


def georeferenced_by_gcps(src: rasterio.DatasetReader) -> bool:
    """Whether an open raster is georeferenced by GCPs alone (no CRS and geotransform of its own)."""
    return src.crs is None and bool(src.gcps[0])


def open_raster(path: str, role: str, allow_gcps: bool = False) -> RasterInfo:
    """Read and check a raster's metadata; ``role`` ("reference" or "SAR") appears in error messages.

    With ``allow_gcps``, a raster georeferenced by GCPs alone (no geotransform) is accepted.

    Raises:
        InputError: the file is not a readable raster, or has no CRS or no geotransform (or usable GCPs).
    """
    try:
        with rasterio.open(path) as src:
            gcps, gcps_crs = src.gcps
            by_gcps = georeferenced_by_gcps(src)
            if by_gcps and not allow_gcps:
                raise InputError(path, f"the {role} is georeferenced by GCPs only; give a raster with a geotransform")
            if by_gcps and (gcps_crs is None or len(gcps) < MIN_GCPS):
                raise InputError(path, f"the {role}'s GCPs are unusable ({len(gcps)} GCPs, CRS {gcps_crs}); need {MIN_GCPS} and a CRS")
            if src.crs is None and not by_gcps:
                raise InputError(path, f"the {role} raster has no CRS")
            if not by_gcps and src.transform == Affine.identity():
                raise InputError(path, f"the {role} raster has no geotransform")
            return RasterInfo(
                path=str(path),
                crs=gcps_crs if by_gcps else src.crs,
                transform=None if by_gcps else src.transform,
                width=src.width,
                height=src.height,
                count=src.count,
                dtypes=tuple(src.dtypes),
                nodata=src.nodata,
                band_descriptions=tuple(src.descriptions),
                gcps=tuple(gcps) if by_gcps else (),
            )
    except GDAL_ERRORS as exc:
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
