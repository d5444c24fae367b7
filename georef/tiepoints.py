"""The tie-point GeoPackage: a point layer of tie points and a polygon layer of tiles (reference CRS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from pyogrio.raw import write

TIE_POINT_LAYER = "tie_points"
TILE_LAYER = "tiles"


def write_tie_points(
    destination: Path,
    crs_wkt: str,
    map_xy: np.ndarray,
    fields: dict[str, np.ndarray],
) -> None:
    """Write the tie-point layer: points at the true positions ``map_xy`` (N, 2), one attribute per field."""
    geometry = shapely.to_wkb(shapely.points(map_xy)) if len(map_xy) else np.array([], dtype=object)
    _write_layer(destination, TIE_POINT_LAYER, "Point", crs_wkt, geometry, fields)


def write_tiles(destination: Path, crs_wkt: str, polygons: list, fields: dict[str, np.ndarray]) -> None:
    """Add the tile layer (one polygon per tile with its status and reason) to the same GeoPackage."""
    _write_layer(destination, TILE_LAYER, "Polygon", crs_wkt, shapely.to_wkb(np.array(polygons, dtype=object)), fields)


def _write_layer(
    destination: Path, layer: str, geometry_type: str, crs_wkt: str, geometry_wkb: np.ndarray, fields: dict[str, np.ndarray]
) -> None:
    """Write one layer (WKB geometries plus attribute columns) into the GeoPackage, adding it beside others."""
    write(
        str(destination),
        geometry_wkb,
        list(fields.values()),
        list(fields.keys()),
        layer=layer,
        driver="GPKG",
        crs=crs_wkt,
        geometry_type=geometry_type,
    )
