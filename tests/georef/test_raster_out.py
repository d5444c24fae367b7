"""Raster outputs: the SAR re-georeferenced as a COG (pixels untouched), and warped onto the reference grid.

Every output must validate as a Cloud-Optimized GeoTIFF (rio-cogeo's validator, and GDAL's own COG layout
flag), with overviews averaged in linear power: checked against block means computed here with numpy on
real Sentinel-1 data from the shared folder.
"""

import math
import warnings

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.errors import NotGeoreferencedWarning
from rio_cogeo.cogeo import cog_validate

from sarlign.errors import OptionError
from sarlign.georef.overviews import overview_factors, sar_values
from sarlign.georef.raster_out import (
    GcpGeoreference,
    check_creation_options,
    regeoreferenced_vrt,
    resampling_grid,
    write_regeoreferenced_cog,
    write_resampled_cog,
)
from sarlign.tiling.recipe import ReferenceGrid

OLD = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)
NEW = Affine(10.0003, 0.0012, 499_880.25, 0.0007, -9.9991, 5_000_070.5)
SEN1FLOODS = "geotiff/sen1floods11/sen1floods11_Spain_7370579_s1.tif"  # VV, VH in dB, float32, EPSG:4326
OSSIFT = "geotiff/ossift/ossift_omaha_sar.tiff"  # GaoFen-3 amplitude, uint16, 1388 × 1385


def assert_valid_cog(path) -> None:
    """rio-cogeo's validator passes, and GDAL reports the COG layout."""
    valid, errors, _ = cog_validate(str(path), strict=True)
    assert valid, errors
    with rasterio.open(path) as cog:
        assert cog.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"


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


def _values(data: np.ndarray) -> str:
    return sar_values(str(data.dtype), already_db=data.dtype.kind == "f")


def test_sar_values_follow_the_matching_scaling_then_the_dtype():
    assert sar_values("float32", already_db=True) == "db"
    assert sar_values("int16", already_db=True) == "db"
    assert sar_values("uint16", already_db=False) == "amplitude"
    assert sar_values("uint8", already_db=False) == "amplitude"
    assert sar_values("float32", already_db=False) == "power"


def test_overview_factors_stop_when_one_tile_holds_the_level():
    assert overview_factors(512, 512) == []
    assert overview_factors(1100, 900) == [2, 4]
    assert overview_factors(10980, 10980) == [2, 4, 8, 16, 32]


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
    write_regeoreferenced_cog(str(path), NEW, out, _values(data))
    assert_valid_cog(out)
    with rasterio.open(out) as cog:
        assert cog.profile["tiled"] is True
        assert all(shape[0] < 900 and shape[1] < 1100 for shape in cog.block_shapes)
        assert cog.overviews(1) == cog.overviews(2) == [2, 4]
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
    write_regeoreferenced_cog(path.name, NEW, tmp_path / "rel.tif", _values(data))
    with rasterio.open(tmp_path / "rel.tif") as cog:
        np.testing.assert_array_equal(cog.read(1), data[0])


def test_resampled_cog_on_own_grid_is_unchanged(source, tmp_path):
    path, data, _ = source
    out = tmp_path / "resampled.tif"
    write_resampled_cog(path, ReferenceGrid(CRS.from_epsg(32633).to_wkt(), OLD, 1100, 900), out, _values(data))
    assert_valid_cog(out)
    with rasterio.open(out) as cog:
        assert cog.transform == OLD
        assert cog.descriptions == ("VV", "VH")
        np.testing.assert_allclose(cog.read(), data)


def test_resampled_cog_on_shifted_grid_moves_pixels(source, tmp_path):
    """Onto a grid 5 columns east and 3 rows south: pixel (x, y) of the output is (x+5, y+3) of the source."""
    path, data, nodata = source
    grid = OLD @ Affine.translation(5, 3)
    out = tmp_path / "shifted.tif"
    write_resampled_cog(path, ReferenceGrid(CRS.from_epsg(32633).to_wkt(), grid, 1000, 800), out, _values(data))
    with rasterio.open(out) as cog:
        assert (cog.width, cog.height) == (1000, 800)
        assert cog.transform == grid
        np.testing.assert_allclose(cog.read()[:, 100:, 100:], data[:, 103:803, 105:1005])


# --- overviews averaged in linear power, on real SAR ----------------------------------------------------


def _reflected(data: np.ndarray, height: int, width: int) -> np.ndarray:
    """``data`` (B, H, W) mirrored at its edges to (B, height, width): real values, a size with overviews."""
    rows, cols = height - data.shape[1], width - data.shape[2]
    return np.pad(data, ((0, 0), (0, rows), (0, cols)), mode="reflect")


@pytest.fixture(scope="module")
def real_sars(tmp_path_factory, shared_file, write_raster) -> dict:
    """Real SARs of each kind, at sizes that need overviews (odd ones, so edge blocks are partial), each
    with a nodata area and a block that is partly nodata:

    - ``db``: Sen1Floods11's VV/VH in dB (float32, nodata NaN), mirrored to 1100 × 901;
    - ``power``: the same as linear power;
    - ``amplitude``: OSSIFT's GaoFen-3 amplitude (uint16, nodata 0 added), 1388 × 1385.
    """
    work = tmp_path_factory.mktemp("real_sar")
    with rasterio.open(shared_file(SEN1FLOODS)) as src:
        db, crs, transform, descriptions = _reflected(src.read(), 901, 1100), src.crs, src.transform, src.descriptions
    db[:, :100, :130] = np.nan
    db[:, 300:303, 200:201] = np.nan  # part of a level-1 and level-2 block
    with rasterio.open(shared_file(OSSIFT)) as src:
        amplitude, ossift_crs, ossift_transform = src.read(), src.crs, src.transform
    amplitude[:, -70:, -90:] = 0
    amplitude[:, 500:503, 700] = 0
    power = (10.0 ** (db / 10.0)).astype(np.float32)
    paths = {
        "db": write_raster(work / "db.tif", db, crs=crs, transform=transform, nodata=float("nan")),
        "power": write_raster(work / "power.tif", power, crs=crs, transform=transform, nodata=float("nan")),
        "amplitude": write_raster(work / "amplitude.tif", amplitude, crs=ossift_crs, transform=ossift_transform, nodata=0),
    }
    for kind in ("db", "power"):
        with rasterio.open(paths[kind], "r+") as dst:
            dst.descriptions = descriptions
    return {"db": (paths["db"], db), "power": (paths["power"], power), "amplitude": (paths["amplitude"], amplitude)}


def _expected_level(data: np.ndarray, nodata: float, values: str, factor: int) -> np.ndarray:
    """Each ``factor``² block's mean linear power over its valid pixels, on the stored scale (float64;
    NaN where a block has no valid pixel), computed from the whole array in one go."""
    x = data.astype(np.float64)
    valid = ~np.isnan(x) if math.isnan(nodata) else x != nodata
    linear = 10.0 ** (x / 10.0) if values == "db" else x**2 if values == "amplitude" else x
    bands, rows, cols = x.shape
    padded = np.full((bands, math.ceil(rows / factor) * factor, math.ceil(cols / factor) * factor), np.nan)
    padded[:, :rows, :cols] = np.where(valid, linear, np.nan)
    blocks = padded.reshape(bands, padded.shape[1] // factor, factor, padded.shape[2] // factor, factor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # blocks without a valid pixel: NaN
        mean = np.nanmean(blocks, axis=(2, 4))
    return 10.0 * np.log10(mean) if values == "db" else np.sqrt(mean) if values == "amplitude" else mean


@pytest.mark.parametrize("values", ["db", "power", "amplitude"])
def test_overviews_are_linear_power_means_of_their_blocks(real_sars, tmp_path, values):
    path, data = real_sars[values]
    out = tmp_path / f"{values}.tif"
    write_regeoreferenced_cog(str(path), NEW, out, values)
    assert_valid_cog(out)
    with rasterio.open(path) as src, rasterio.open(out) as cog:
        factors = overview_factors(src.width, src.height)
        assert len(factors) >= 2
        assert all(cog.overviews(b) == factors for b in cog.indexes)
        assert (cog.dtypes, cog.descriptions) == (src.dtypes, src.descriptions)
        assert cog.nodata == src.nodata or (np.isnan(cog.nodata) and np.isnan(src.nodata))
        nodata = src.nodata
    for level, factor in enumerate(factors):
        with rasterio.open(out, overview_level=level) as overview:
            actual = overview.read()
        expected = _expected_level(data, nodata, values, factor)
        assert actual.shape == expected.shape
        if values == "amplitude":
            expected = np.where(np.isnan(expected), nodata, np.rint(expected))
            np.testing.assert_array_equal(actual, expected)
            assert (actual == nodata).any() and (actual > 0).any()
        else:
            np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5 if values == "db" else 0)
            assert np.isnan(actual).any() and np.isfinite(actual).any()


def test_db_overviews_differ_from_an_average_of_the_db_values(real_sars, tmp_path):
    """The mean of dB values is darker than the dB of the mean power (a geometric against an arithmetic mean
    of the power): the overviews are not GDAL's average of the stored values."""
    path, data = real_sars["db"]
    out = tmp_path / "db.tif"
    write_regeoreferenced_cog(str(path), NEW, out, "db")
    with rasterio.open(out, overview_level=0) as overview:
        level = overview.read(1)
    even = np.full((902, 1100), np.nan)
    even[:901] = data[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        db_mean = np.nanmean(even.reshape(451, 2, 550, 2), axis=(1, 3))
    assert np.nanmean(level - db_mean) > 0.15  # dB (0.22 on this speckle-filtered scene)


def test_small_raster_gets_no_overviews_not_even_its_own(shared_file, shifted_copy, tmp_path):
    """Sen1Floods11's 512² file fits one tile: given nearest-neighbour overviews of its own, none are copied."""
    source = shifted_copy(shared_file(SEN1FLOODS), tmp_path / "small_source.tif", lambda t: t)
    with rasterio.open(source, "r+") as src:
        src.build_overviews([2, 4], Resampling.nearest)
    out = tmp_path / "small.tif"
    write_regeoreferenced_cog(str(source), NEW, out, "db")
    assert_valid_cog(out)
    with rasterio.open(out) as cog, rasterio.open(source) as src:
        assert cog.overviews(1) == cog.overviews(2) == []
        np.testing.assert_array_equal(cog.read(), src.read())


# --- georeferencing by GCPs ------------------------------------------------------------------------------


def _gcps(transform: Affine, width: int, height: int, shift: tuple[float, float] = (0.0, 0.0)) -> tuple:
    """A 3 × 3 lattice of GCPs (corner-based pixel/line) placed by ``transform``, moved by ``shift`` (x, y)."""
    points = []
    for row in np.linspace(0, height, 3):
        for col in np.linspace(0, width, 3):
            x, y = transform @ (col, row)
            points.append(GroundControlPoint(row=row, col=col, x=x + shift[0], y=y + shift[1], z=0.0, id=str(len(points) + 1)))
    return tuple(points)


@pytest.fixture(scope="module")
def gcp_sar(real_sars, tmp_path_factory, write_raster):
    """The real dB SAR with its geotransform replaced by GCPs in EPSG:4326 (Sentinel-1 GRD style)."""
    path, data = real_sars["db"]
    with rasterio.open(path) as src:
        transform, descriptions = src.transform, src.descriptions
    out = tmp_path_factory.mktemp("gcp") / "gcp.tif"
    write_raster(out, data, crs=None, nodata=float("nan"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        dst = rasterio.open(out, "r+")
    with dst:
        dst.gcps = (list(_gcps(transform, data.shape[2], data.shape[1])), CRS.from_epsg(4326))
        dst.descriptions = descriptions
    return out, data, transform


def test_gcp_georeferenced_cog_carries_the_corrected_gcps(gcp_sar, tmp_path):
    path, data, transform = gcp_sar
    corrected = _gcps(transform, data.shape[2], data.shape[1], shift=(2e-4, -1e-4))
    out = tmp_path / "gcp_out.tif"
    write_regeoreferenced_cog(str(path), GcpGeoreference(corrected, CRS.from_epsg(4326)), out, "db")
    assert_valid_cog(out)
    with rasterio.open(out) as cog:
        gcps, crs = cog.gcps
        assert crs == CRS.from_epsg(4326) and cog.crs is None
        assert [(g.id, g.row, g.col) for g in gcps] == [(g.id, g.row, g.col) for g in corrected]
        np.testing.assert_allclose([(g.x, g.y, g.z) for g in gcps], [(g.x, g.y, g.z) for g in corrected], rtol=0, atol=1e-12)
        assert cog.overviews(1) == cog.overviews(2) == [2, 4]
        assert cog.descriptions == ("VV", "VH")
        np.testing.assert_array_equal(cog.read(), data)


def test_resampled_cog_from_a_gcp_source_uses_its_gcps(gcp_sar, tmp_path):
    """Warped through its GCPs onto the grid they came from, the SAR comes back unchanged (bilinear at
    whole-pixel positions), away from the edges and its nodata."""
    path, data, transform = gcp_sar
    out = tmp_path / "gcp_resampled.tif"
    write_resampled_cog(path, ReferenceGrid(CRS.from_epsg(4326).to_wkt(), transform, data.shape[2], data.shape[1]), out, "db")
    assert_valid_cog(out)
    with rasterio.open(out) as cog:
        assert cog.transform == transform and cog.crs == CRS.from_epsg(4326)
        warped = cog.read()
    inner = (slice(None), slice(110, -2), slice(140, -2))
    np.testing.assert_allclose(warped[inner], data[inner], rtol=0, atol=1e-3, equal_nan=True)


# --- the resampled output's grid, resampling and creation options ----------------------------------------


@pytest.mark.parametrize(("values", "low", "high", "mean"), [("db", -20.0, 0.0, 10 * math.log10(0.505)), ("amplitude", 10, 30, 22.36)])
def test_average_resampling_averages_linear_power(tmp_path, write_raster, values, low, high, mean):
    """A checkerboard of two values averaged 2 × 2: the mean of their powers (−2.97 dB, not −10 dB; the
    root mean square of amplitudes, 22.36, not 20)."""
    board = np.where((np.indices((64, 64)).sum(axis=0) % 2) == 0, low, high)
    dtype = np.float32 if values == "db" else np.uint16
    path = write_raster(tmp_path / "board.tif", board.astype(dtype), transform=OLD, nodata=-9999 if values == "db" else 0)
    out = tmp_path / "averaged.tif"
    coarse = ReferenceGrid(CRS.from_epsg(32633).to_wkt(), OLD @ Affine.scale(2), 32, 32)
    write_resampled_cog(path, coarse, out, values, Resampling.average)
    with rasterio.open(out) as cog:
        averaged = cog.read(1)
        assert cog.dtypes[0] == np.dtype(dtype).name and cog.transform == coarse.transform
    np.testing.assert_allclose(averaged, mean, atol=0.01 if values == "db" else 0.5)


def test_a_target_crs_and_resolution_give_the_references_extent_on_aligned_pixels():
    reference = ReferenceGrid(CRS.from_epsg(32633).to_wkt(), OLD, 1100, 900)
    assert resampling_grid(reference) == reference
    grid = resampling_grid(reference, CRS.from_epsg(4326), (0.0002, 0.0002))
    assert CRS.from_wkt(grid.crs_wkt) == CRS.from_epsg(4326) and (grid.transform.a, grid.transform.e) == (0.0002, -0.0002)
    assert grid.transform.c / 0.0002 == pytest.approx(round(grid.transform.c / 0.0002))  # target-aligned
    coarser = resampling_grid(reference, None, (20.0, 20.0))
    assert (coarser.width, coarser.height) == (550, 450) and coarser.transform == Affine(20, 0, 500_000, 0, -20, 5_000_000)


def test_creation_options_gdal_cannot_use_on_the_outputs_dtype_are_refused_naming_the_option():
    check_creation_options((("COMPRESS", "ZSTD"), ("LEVEL", "9")), "uint16", 2)
    check_creation_options((("PREDICTOR", "3"),), "float32", 1)  # the floating-point predictor, for float data
    for options, dtype in (((("COMPRESS", "NOPE"),), "uint8"), ((("BLOCKSIZE", "100"),), "uint8"),
                           ((("PREDICTOR", "3"),), "uint16")):
        with pytest.raises(OptionError, match="--co"):
            check_creation_options(options, dtype, 1)
