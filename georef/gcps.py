"""Correcting a SAR georeferenced by ground control points (a Sentinel-1 GRD as delivered).

Such a SAR has no geotransform to refit. Each GCP says where pixel (``col``, ``row``) lies, in the GCPs'
CRS (EPSG:4326 for Sentinel-1); the registration's correction, a map → map affine in the reference CRS
from where the SAR shows a feature to where it truly is, moves every GCP to its true position. The pixels
keep their GCP ``Pixel``/``Line`` positions (corner convention), height and identifiers.
"""

from __future__ import annotations

import numpy as np
from affine import Affine
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS

from sarlign.coords import map_points


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
