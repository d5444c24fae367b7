"""Opening and validating inputs; footprints across CRSs; the overlap of two footprints."""

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from shapely.geometry import Point, Polygon

from sarlign.errors import InputError
from sarlign.tiling.scene import check_bands, open_raster, overlap_in_reference_crs

MERCATOR_TRANSFORM = Affine(10.0, 0.0, -13_163_261.66, 0.0, -10.0, 3_976_459.70)


@pytest.fixture
def mercator_raster(tmp_path, write_raster):
    """A 3-band uint8 raster in EPSG:3395 (World Mercator), 300 × 200 px of 10 m."""
    data = np.random.default_rng(0).integers(1, 255, (3, 200, 300), dtype=np.uint8)
    return write_raster(tmp_path / "merc.tif", data, crs="EPSG:3395", transform=MERCATOR_TRANSFORM, nodata=0)


def test_open_raster_reads_metadata(mercator_raster):
    info = open_raster(str(mercator_raster), "reference")
    assert info.crs == CRS.from_epsg(3395)
    assert info.transform == MERCATOR_TRANSFORM
    assert (info.width, info.height, info.count) == (300, 200, 3)
    assert info.dtypes == ("uint8",) * 3
    assert info.nodata == 0
    assert info.gcps == ()


def test_footprint_in_own_crs(mercator_raster):
    """The footprint in the raster's CRS is its bounds."""
    info = open_raster(str(mercator_raster), "reference")
    x0, y0 = MERCATOR_TRANSFORM @ (0, 0)
    x1, y1 = MERCATOR_TRANSFORM @ (300, 200)
    assert info.footprint().bounds == pytest.approx((x0, y1, x1, y0))
    assert info.footprint_in(CRS.from_epsg(3395)).equals(info.footprint())


def test_footprint_in_other_crs_contains_transformed_corners(mercator_raster):
    """EPSG:3395 → EPSG:4326: the footprint contains every transformed corner and edge point."""
    info = open_raster(str(mercator_raster), "reference")
    footprint = info.footprint_in(CRS.from_epsg(4326))
    to_geo = Transformer.from_crs("EPSG:3395", "EPSG:4326", always_xy=True)
    px = [(0, 0), (300, 0), (300, 200), (0, 200), (150, 0), (0, 100), (150, 100)]
    for col, row in px:
        lon, lat = to_geo.transform(*(MERCATOR_TRANSFORM @ (col, row)))
        assert footprint.buffer(1e-9).contains(Point(lon, lat)), (col, row)
    # Degrees, near Los Angeles, about 3 km × 2 km of Mercator metres.
    minx, miny, maxx, maxy = footprint.bounds
    assert -118.3 < minx < maxx < -118.2 and 33.7 < miny < maxy < 33.9
    expected_area = info.footprint().area
    # Back-projected area agrees with the source footprint within 0.1 %.
    back = Transformer.from_crs("EPSG:4326", "EPSG:3395", always_xy=True)
    xs, ys = back.transform(*np.array(footprint.exterior.coords).T)
    assert Polygon(np.column_stack([xs, ys])).area == pytest.approx(expected_area, rel=1e-3)


def test_open_raster_rejects_text_file(tmp_path):
    """A text file is not a raster: InputError naming the path."""
    path = tmp_path / "notes.tif"
    path.write_text("this is not a raster\n")
    with pytest.raises(InputError) as info:
        open_raster(str(path), "SAR")
    assert info.value.path == str(path)
    assert str(path) in str(info.value)
    assert info.value.exit_code == 2


def test_open_raster_rejects_missing_file(tmp_path):
    path = tmp_path / "absent.tif"
    with pytest.raises(InputError) as info:
        open_raster(str(path), "SAR")
    assert str(path) in str(info.value)


def test_open_raster_rejects_raster_without_crs(tmp_path, write_raster):
    """A GeoTIFF with a geotransform but no CRS: InputError naming the path and the missing CRS."""
    path = write_raster(tmp_path / "nocrs.tif", np.ones((50, 50), np.uint8), crs=None, transform=MERCATOR_TRANSFORM)
    with pytest.raises(InputError, match="no CRS") as info:
        open_raster(str(path), "reference")
    assert info.value.path == str(path)
    assert "reference" in str(info.value)


def test_open_raster_rejects_raster_without_geotransform(tmp_path, write_raster):
    """A CRS but the identity geotransform: InputError."""
    path = write_raster(tmp_path / "nogt.tif", np.ones((50, 50), np.uint8), crs="EPSG:32633", transform=Affine.identity())
    with pytest.raises(InputError, match="geotransform") as info:
        open_raster(str(path), "SAR")
    assert info.value.path == str(path)


def test_check_bands_accepts_existing_bands(mercator_raster):
    check_bands(open_raster(str(mercator_raster), "reference"), (1, 2, 3), "reference")


@pytest.mark.parametrize("bands,missing", [((4,), 4), ((0,), 0), ((1, 5), 5)])
def test_check_bands_rejects_missing_band(mercator_raster, bands, missing):
    info = open_raster(str(mercator_raster), "reference")
    with pytest.raises(InputError, match=f"has 3 band\\(s\\); band {missing} does not exist") as err:
        check_bands(info, bands, "reference")
    assert err.value.path == str(mercator_raster)


def test_overlap_in_reference_crs_across_crs(tmp_path, write_raster, mercator_raster):
    """A SAR in EPSG:4326 covering the right half of the reference: the overlap is that half."""
    reference = open_raster(str(mercator_raster), "reference")
    to_geo = Transformer.from_crs("EPSG:3395", "EPSG:4326", always_xy=True)
    lon0, lat0 = to_geo.transform(*(MERCATOR_TRANSFORM @ (150, -50)))
    lon1, lat1 = to_geo.transform(*(MERCATOR_TRANSFORM @ (400, 250)))
    sar_transform = Affine((lon1 - lon0) / 250, 0, lon0, 0, (lat1 - lat0) / 300, lat0)
    sar = write_raster(tmp_path / "sar.tif", np.ones((300, 250), np.float32), crs="EPSG:4326", transform=sar_transform)
    overlap = overlap_in_reference_crs(reference, open_raster(str(sar), "SAR"))
    x_mid, _ = MERCATOR_TRANSFORM @ (150, 0)
    assert overlap.area == pytest.approx(reference.footprint().area / 2, rel=1e-3)
    assert overlap.bounds[0] == pytest.approx(x_mid, abs=0.5)
    assert overlap.bounds[2] == pytest.approx(reference.footprint().bounds[2], abs=0.5)


def test_overlap_disjoint_raises_naming_sar(tmp_path, write_raster, mercator_raster):
    """Footprints 100 km apart: InputError naming the SAR file."""
    reference = open_raster(str(mercator_raster), "reference")
    far = Affine.translation(100_000, 0) @ MERCATOR_TRANSFORM
    sar_path = write_raster(tmp_path / "far.tif", np.ones((200, 300), np.uint8), crs="EPSG:3395", transform=far)
    with pytest.raises(InputError, match="does not overlap") as info:
        overlap_in_reference_crs(reference, open_raster(str(sar_path), "SAR"))
    assert info.value.path == str(sar_path)


def test_gcp_only_sar_is_accepted_as_sar_but_not_as_reference(gcp_only_sar):
    info = open_raster(str(gcp_only_sar["path"]), "SAR", allow_gcps=True)
    assert info.transform is None and info.crs == CRS.from_epsg(4326)
    assert len(info.gcps) == len(gcp_only_sar["gcps"])
    with pytest.raises(InputError, match="georeferenced by GCPs only") as caught:
        open_raster(str(gcp_only_sar["path"]), "reference")
    assert str(gcp_only_sar["path"]) in str(caught.value)


def test_gcp_georeferencing_maps_pixels_to_their_gcps_and_back(gcp_only_sar):
    """GDAL's GCP polynomial reproduces the GCPs (to 1 mm) and map → pixel inverts pixel → map."""
    info = open_raster(str(gcp_only_sar["path"]), "SAR", allow_gcps=True)
    pixels = np.array([(g.col, g.row) for g in info.gcps])
    expected = np.array([(g.x, g.y) for g in info.gcps])
    np.testing.assert_allclose(info.pixel_to_map(pixels), expected, atol=1e-8)  # degrees: 1e-8° ≈ 1 mm
    inside = np.array([(10.5, 20.25), (300.0, 300.0), (600.75, 5.5)])
    np.testing.assert_allclose(info.map_to_pixel(info.pixel_to_map(inside)), inside, atol=1e-3)


def test_gcp_only_footprint_is_the_rotated_mirrored_outline(gcp_only_sar):
    """The footprint follows the GCPs: it holds every GCP, and is the size of the image (a 12° turned square)."""
    info = open_raster(str(gcp_only_sar["path"]), "SAR", allow_gcps=True)
    footprint = info.footprint()
    for g in info.gcps:
        assert footprint.buffer(1e-7).contains(Point(g.x, g.y))  # 1e-7° ≈ 1 cm: GCPs on the edge
    to_mercator = Transformer.from_crs("EPSG:4326", "EPSG:3395", always_xy=True)
    xs, ys = to_mercator.transform(*np.array(footprint.exterior.coords).T)
    side_m = info.width * 10.0
    assert Polygon(np.column_stack([xs, ys])).area == pytest.approx(side_m**2, rel=1e-3)
