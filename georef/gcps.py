"""Correcting a SAR georeferenced by ground control points (a Sentinel-1 GRD as delivered).

Such a SAR has no geotransform to refit. Each GCP says where pixel (``col``, ``row``) lies, in the GCPs'
CRS (EPSG:4326 for Sentinel-1); the registration's correction, a map → map affine in the reference CRS
from where the SAR shows a feature to where it truly is, moves every GCP to its true position. The pixels
keep their GCP ``Pixel``/``Line`` positions (corner convention), height and identifiers.
"""

from __future__ import annotations

import math

import numpy as np
from affine import Affine
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS

from sarlign.coords import map_points
from sarlign.georef.cross_validation import Model
from sarlign.georef.smooth_models import SupportedModel

GCP_GRID = 33  # nodes per side of the GCP grid that carries a richer model (32 cells of a scene), at least
# GDAL's thin-plate spline solves one dense system of all the GCPs each time a dataset is opened for a warp:
# 33² GCPs take 0.3-0.6 s, 41² 2 s, 49² 6-9 s, 65² 40-50 s (measured, 2 cores), so no more than 41 a side.
MAX_GCP_GRID = 41
GCP_SPACING_RANGES = 0.5  # a local field is sampled at least every half its range: GDAL's spline then
# reproduces it to within 0.03 px (measured on 10980² scenes; 0.08 px at 0.64 of the range)
# How GDAL must read an output's GCPs to follow the model they carry: warp/transformer options (as
# rasterio's reproject passes them on) and the words the report and README use. A richer model fades to
# the affine beyond its support (georef.smooth_models), which no GCP polynomial follows: its dense grid is
# read by a thin-plate spline. Other outputs' GCPs (a GRD's own grid, moved by an affine) are read by
# GDAL's default GCP polynomial.
TPS_TRANSFORMER: tuple[dict[str, object], str] = ({"SRC_METHOD": "GCP_TPS"}, "thin-plate spline through the GCPs (gdalwarp -tps)")
GCP_TRANSFORMERS: dict[str, tuple[dict[str, object], str]] = {
    "polynomial2": TPS_TRANSFORMER, "polynomial3": TPS_TRANSFORMER, "local": TPS_TRANSFORMER,
}
DEFAULT_TRANSFORMER: tuple[dict[str, object], str] = ({}, "GDAL's default GCP polynomial (gdalwarp without -order or -tps)")


def gcp_transformer(kind: str) -> tuple[dict[str, object], str]:
    """(warp options, description) of the transformer that reads the GCPs of a ``kind`` fit's output."""
    return GCP_TRANSFORMERS.get(kind, DEFAULT_TRANSFORMER)


def corrected_gcps(
    gcps: tuple[GroundControlPoint, ...], gcps_crs: CRS, correction: Affine, reference_crs: CRS
) -> list[GroundControlPoint]:
    """``gcps`` with their map positions moved by ``correction`` (map → map in ``reference_crs``)."""
    to_reference = Transformer.from_crs(gcps_crs, reference_crs, always_xy=True)
    from_reference = Transformer.from_crs(reference_crs, gcps_crs, always_xy=True)
    xy = np.array([(g.x, g.y) for g in gcps], dtype=np.float64)
    moved = map_points(correction, np.column_stack(to_reference.transform(xy[:, 0], xy[:, 1])))
    x, y = from_reference.transform(moved[:, 0], moved[:, 1])
    return [
        GroundControlPoint(row=g.row, col=g.col, x=float(gx), y=float(gy), z=g.z, id=g.id, info=g.info)
        for g, gx, gy in zip(gcps, x, y)
    ]


def gcp_nodes(model: SupportedModel, extent_px: float) -> int:
    """Nodes per side of the GCP grid that carries ``model`` over a SAR whose longer side spans
    ``extent_px`` reference pixels: ``GCP_GRID``, or more (up to ``MAX_GCP_GRID``) for a local field whose
    range that grid would not sample every ``GCP_SPACING_RANGES`` of it."""
    if model.covariance is None:
        return GCP_GRID
    wanted = math.ceil(extent_px / (GCP_SPACING_RANGES * model.covariance.range_px)) + 1
    return int(min(MAX_GCP_GRID, max(GCP_GRID, wanted)))


def field_gcps(
    pixel_to_map: Model,
    sar_crs: CRS,
    size: tuple[int, int],
    predict: Model,
    reference_transform: Affine,
    reference_crs: CRS,
    nodes: int = GCP_GRID,
) -> list[GroundControlPoint]:
    """GCPs on a ``nodes`` × ``nodes`` grid over a SAR of ``size`` (width, height) pixels, edges included
    (pixel corners at integers): each says where its pixel truly lies, in ``reference_crs``.

    A pixel's path: its position in the SAR's own georeferencing (``pixel_to_map``, in ``sar_crs``: its
    geotransform or GCP polynomial), the reference grid's pixels, ``predict`` (the fitted model, SAR grid →
    reference pixels), the reference CRS through ``reference_transform``.
    """
    width, height = size
    cols, rows = np.meshgrid(np.linspace(0, width, nodes), np.linspace(0, height, nodes))
    pixels = np.column_stack([cols.ravel(), rows.ravel()])
    seen = pixel_to_map(pixels)
    if CRS.from_user_input(sar_crs) != CRS.from_user_input(reference_crs):
        to_reference = Transformer.from_crs(sar_crs, reference_crs, always_xy=True)
        seen = np.column_stack(to_reference.transform(seen[:, 0], seen[:, 1]))
    true = map_points(reference_transform, predict(map_points(~reference_transform, seen)))
    return [
        GroundControlPoint(row=float(r), col=float(c), x=float(x), y=float(y), z=0.0, id=str(i + 1))
        for i, ((c, r), (x, y)) in enumerate(zip(pixels, true))
    ]
