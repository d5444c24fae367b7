"""Raster outputs: the SAR re-georeferenced as a COG (pixels untouched), and warped onto the reference grid."""

import numpy as np
import pytest
import rasterio
from affine import Affine

from sarlign.georef.raster_out import regeoreferenced_vrt, write_regeoreferenced_cog, write_resampled_cog

OLD = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)
NEW = Affine(10.0003, 0.0012, 499_880.25, 0.0007, -9.9991, 5_000_070.5)


@pytest.fixture(params=["int16", "float32"])
def source(request, tmp_path, write_raster):
    """A 2-band 1100 × 900 SAR with a nodata value (−32768, or NaN for float32) and band descriptions."""
    rng = np.random.default_rng(0)
    if request.param == "int16":
        data, nodata = rng.integers(-3000, 3000, (2, 900, 1100)).astype(np.int16), -32768
    else:
        data, nodata = rng.normal(-12, 3, (2, 900, 1100)).astype(np.float32), float("nan")
    data[:, :40, :60] = nodata
    path = write_raster(tmp_path / "sar.tif", data, crs="EPSG:32633", transform=OLD, nodata=nodata)
    with rasterio.open(path, "r+") as dst:
        dst.descriptions = ("VV", "VH")
    return path, data, nodata


def test_vrt_carries_new_geotransform_and_bands(source):
    path, data, _ = source
    with rasterio.open(regeoreferenced_vrt(str(path), NEW)) as vrt:
        assert vrt.transform == NEW
        assert vrt.count == 2 and vrt.dtypes[0] == str(data.dtype)
        np.testing.assert_array_equal(vrt.read(), data)


def test_regeoreferenced_cog_layout_and_content(source, tmp_path):
    """A valid COG: tiled, with overviews, the new geotransform, identical pixels, dtype/nodata/descriptions kept."""
    path, data, nodata = source
    out = tmp_path / "out.tif"
    write_regeoreferenced_cog(str(path), NEW, out)
    with rasterio.open(out) as cog:
        assert cog.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert cog.profile["tiled"] is True
        assert all(shape[0] < 900 and shape[1] < 1100 for shape in cog.block_shapes)
        assert cog.overviews(1) and cog.overviews(2)
        assert cog.transform == NEW
        assert cog.crs == rasterio.crs.CRS.from_epsg(32633)
        assert (cog.width, cog.height, cog.count) == (1100, 900, 2)
        assert cog.dtypes == (str(data.dtype),) * 2
        if np.isnan(nodata):
            assert np.isnan(cog.nodata)
        else:
            assert cog.nodata == nodata
        assert cog.descriptions == ("VV", "VH")
        np.testing.assert_array_equal(cog.read(), data)
        assert cog.compression is not None and cog.compression.value == "DEFLATE"


def test_relative_source_path_is_resolved(source, tmp_path, monkeypatch):
    """The VRT points at the absolute source path, so a relative input works from any folder."""
    path, data, _ = source
    monkeypatch.chdir(tmp_path)
    write_regeoreferenced_cog(path.name, NEW, tmp_path / "rel.tif")
    with rasterio.open(tmp_path / "rel.tif") as cog:
        np.testing.assert_array_equal(cog.read(1), data[0])


def test_resampled_cog_on_own_grid_is_unchanged(source, tmp_path):
    path, data, _ = source
    out = tmp_path / "resampled.tif"
    write_resampled_cog(path, rasterio.crs.CRS.from_epsg(32633), OLD, 1100, 900, out)
    with rasterio.open(out) as cog:
        assert cog.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert cog.transform == OLD
        np.testing.assert_allclose(cog.read(), data)


def test_resampled_cog_on_shifted_grid_moves_pixels(source, tmp_path):
    """Onto a grid 5 columns east and 3 rows south: pixel (x, y) of the output is (x+5, y+3) of the source."""
    path, data, nodata = source
    grid = OLD @ Affine.translation(5, 3)
    out = tmp_path / "shifted.tif"
    write_resampled_cog(path, rasterio.crs.CRS.from_epsg(32633), grid, 1000, 800, out)
    with rasterio.open(out) as cog:
        assert (cog.width, cog.height) == (1000, 800)
        assert cog.transform == grid
        np.testing.assert_allclose(cog.read()[:, 100:, 100:], data[:, 103:803, 105:1005])
