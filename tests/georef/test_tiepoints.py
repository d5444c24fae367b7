"""The tie-point GeoPackage: a point layer and a tile polygon layer in the reference CRS."""

import numpy as np
import pyogrio
import pytest
import shapely
from pyogrio.raw import read
from rasterio.crs import CRS
from shapely.geometry import box

from sarlign.georef.tiepoints import TIE_POINT_LAYER, TILE_LAYER, write_tie_points, write_tiles

WKT = CRS.from_epsg(32633).to_wkt()


@pytest.fixture
def gpkg(tmp_path):
    """A GeoPackage with 5 tie points and 2 tiles."""
    path = tmp_path / "ties.gpkg"
    xy = np.column_stack([500_000 + np.arange(5) * 100.0, 5_000_000 - np.arange(5) * 50.0])
    write_tie_points(
        path,
        WKT,
        xy,
        {
            "tile_id": np.array(["r000c000"] * 3 + ["r000c001"] * 2, dtype=object),
            "residual_px": np.array([0.1, 0.2, 0.3, 5.0, 0.4]),
            "score": np.linspace(0.5, 0.9, 5),
            "inlier": np.array([True, True, True, False, True]),
        },
    )
    write_tiles(
        path,
        WKT,
        [box(500_000, 4_994_880, 505_120, 5_000_000), box(505_120, 4_994_880, 510_240, 5_000_000)],
        {
            "tile_id": np.array(["r000c000", "r000c001"], dtype=object),
            "status": np.array(["matched", "screened"], dtype=object),
            "reason": np.array(["", "reference too flat"], dtype=object),
            "tie_points": np.array([3, 2]),
            "inliers": np.array([3, 1]),
        },
    )
    return path, xy


def test_both_layers_present(gpkg):
    path, _ = gpkg
    layers = {name: kind for name, kind in pyogrio.list_layers(path)}
    assert layers == {TIE_POINT_LAYER: "Point", TILE_LAYER: "Polygon"}


def test_tie_point_layer_content(gpkg):
    path, xy = gpkg
    info = pyogrio.read_info(path, layer=TIE_POINT_LAYER)
    assert info["features"] == 5
    assert list(info["fields"]) == ["tile_id", "residual_px", "score", "inlier"]
    assert CRS.from_user_input(info["crs"]) == CRS.from_epsg(32633)
    _, _, geometry, fields = read(path, layer=TIE_POINT_LAYER)
    points = shapely.from_wkb(geometry)
    np.testing.assert_allclose(shapely.get_coordinates(points), xy)
    assert list(fields[0]) == ["r000c000"] * 3 + ["r000c001"] * 2
    np.testing.assert_allclose(fields[1], [0.1, 0.2, 0.3, 5.0, 0.4])
    assert [bool(v) for v in fields[3]] == [True, True, True, False, True]


def test_tile_layer_content(gpkg):
    path, _ = gpkg
    info = pyogrio.read_info(path, layer=TILE_LAYER)
    assert info["features"] == 2
    assert list(info["fields"]) == ["tile_id", "status", "reason", "tie_points", "inliers"]
    assert CRS.from_user_input(info["crs"]) == CRS.from_epsg(32633)
    _, _, geometry, fields = read(path, layer=TILE_LAYER)
    polygons = shapely.from_wkb(geometry)
    assert polygons[1].bounds == (505_120, 4_994_880, 510_240, 5_000_000)
    assert list(fields[1]) == ["matched", "screened"]
    assert list(fields[4]) == [3, 1]


def test_empty_tie_point_layer(tmp_path):
    """No tie points still gives a (empty) point layer beside the tile layer."""
    path = tmp_path / "empty.gpkg"
    write_tie_points(path, WKT, np.zeros((0, 2)), {"score": np.zeros(0)})
    write_tiles(path, WKT, [box(0, 0, 1, 1)], {"status": np.array(["no_match"], dtype=object)})
    assert pyogrio.read_info(path, layer=TIE_POINT_LAYER)["features"] == 0
    assert pyogrio.read_info(path, layer=TILE_LAYER)["features"] == 1
