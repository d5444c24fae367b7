"""Reading a tile pair: the reference tile, and the SAR warped onto the margin-extended reference grid.

The scene is one analytic pattern in UTM 33N metres. The reference samples it on a UTM grid; the SAR
samples it on an EPSG:4326 grid, so the SAR must be warped to be compared.
"""

import os

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.windows import Window

from sarlign.tiling.reading import read_tile_pair
from sarlign.tiling.recipe import RasterSource, ReferenceGrid, TileRecipe
from sarlign.tiling.scaling import band_scaling

UTM = "EPSG:32633"
REF_TRANSFORM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)
REF_SIZE = 256
TO_GEO = Transformer.from_crs(UTM, "EPSG:4326", always_xy=True)
TO_UTM = Transformer.from_crs("EPSG:4326", UTM, always_xy=True)
_RNG = np.random.default_rng(42)
_WAVES = [
    (_RNG.uniform(150, 600), _RNG.uniform(0, np.pi), _RNG.uniform(0, 2 * np.pi)) for _ in range(30)
]  # (wavelength m, direction, phase)


def pattern(e: np.ndarray, n: np.ndarray) -> np.ndarray:
    """A smooth random field of UTM metres, values in about [0.2, 1.8]."""
    total = np.zeros_like(e, dtype=np.float64)
    for wavelength, angle, phase in _WAVES:
        total += np.sin(2 * np.pi * (e * np.cos(angle) + n * np.sin(angle)) / wavelength + phase)
    return 1.0 + 0.8 * total / np.abs(total).max()


def pattern_on_reference_grid(col0: float, row0: float, width: int, height: int) -> np.ndarray:
    """The pattern at the pixel centres of a window of the (possibly extended) reference grid."""
    cols, rows = np.meshgrid(np.arange(width) + col0 + 0.5, np.arange(height) + row0 + 0.5)
    e, n = REF_TRANSFORM @ (cols, rows)
    return pattern(e, n)


def corr(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.corrcoef(a.ravel(), b.ravel())[0, 1])


def _sar_grid(east_px: float = REF_SIZE + 60):
    """An EPSG:4326 grid of 1e-4° pixels covering reference pixels -60 .. ``east_px`` (both axes -60 .. 316)."""
    corners = [REF_TRANSFORM @ (c, r) for c in (-60, east_px) for r in (-60, REF_SIZE + 60)]
    lon, lat = TO_GEO.transform(*np.array(corners).T)
    res = 1e-4
    west, east, south, north = lon.min(), lon.max(), lat.min(), lat.max()
    width, height = int(np.ceil((east - west) / res)), int(np.ceil((north - south) / res))
    return Affine(res, 0, west, 0, -res, north), width, height


@pytest.fixture
def scene(tmp_path, write_raster):
    """Writes the reference (UTM) and a SAR (EPSG:4326); returns a recipe builder."""
    ref = pattern_on_reference_grid(0, 0, REF_SIZE, REF_SIZE).astype(np.float32)
    ref[:8, :8] = -1  # a nodata corner
    ref_path = write_raster(tmp_path / "ref.tif", ref, crs=UTM, transform=REF_TRANSFORM, nodata=-1)

    def build(window: Window, margin: int, east_px: float = REF_SIZE + 60, sar_nodata=None, name="sar.tif", by_gcps=False):
        """``by_gcps``: the SAR carries a 6 × 6 grid of GCPs (its true lon/lat) instead of a geotransform."""
        transform, width, height = _sar_grid(east_px)
        cols, rows = np.meshgrid(np.arange(width) + 0.5, np.arange(height) + 0.5)
        e, n = TO_UTM.transform(*(transform @ (cols, rows)))
        sar = pattern(np.asarray(e), np.asarray(n)).astype(np.float32)
        if by_gcps:
            gcps = [
                GroundControlPoint(row=r, col=c, x=(transform @ (c, r))[0], y=(transform @ (c, r))[1])
                for r in np.linspace(0, height, 6)
                for c in np.linspace(0, width, 6)
            ]
            sar_path = write_raster(tmp_path / name, sar, crs="EPSG:4326", nodata=sar_nodata, gcps=gcps)
        else:
            sar_path = write_raster(tmp_path / name, sar, crs="EPSG:4326", transform=transform, nodata=sar_nodata)
        reference = RasterSource(str(ref_path), (1,), (band_scaling(str(ref_path), 1, -1, "reference"),), -1)
        sar_source = RasterSource(
            str(sar_path), (1,), (band_scaling(str(sar_path), 1, sar_nodata, "SAR", "db"),), sar_nodata
        )
        with rasterio.open(ref_path) as src:
            grid = ReferenceGrid(src.crs.to_wkt(), src.transform, src.width, src.height)
        return TileRecipe("r000c000", window, reference, sar_source, grid, margin)

    return build


def test_tile_pair_shapes_and_types(scene):
    pair = read_tile_pair(scene(Window(64, 96, 128, 96), 16))
    assert pair.reference.shape == pair.reference_valid.shape == (96, 128)
    assert pair.sar.shape == pair.sar_valid.shape == (96 + 32, 128 + 32)
    assert pair.margin == 16
    assert pair.reference.dtype == pair.sar.dtype == np.float32
    assert pair.reference_valid.dtype == pair.sar_valid.dtype == bool
    for image in (pair.reference, pair.sar):
        assert image.min() >= 0 and image.max() <= 1


def test_sar_warped_onto_reference_grid_matches_reference(scene):
    """The SAR core (margin stripped) lies on the reference tile: correlation > 0.9 (same pattern)."""
    pair = read_tile_pair(scene(Window(64, 64, 128, 128), 16))
    m = pair.margin
    core = pair.sar[m : m + 128, m : m + 128]
    assert pair.sar_valid.all() and pair.reference_valid.all()
    assert corr(core, pair.reference) > 0.97
    assert corr(pair.reference, pattern_on_reference_grid(64, 64, 128, 128)) > 0.98  # clipped at 2–98 %
    # Off by the margin (the mistake of reading the SAR from the tile's corner), it does not match.
    assert corr(pair.sar[:128, :128], pair.reference) < 0.5
    assert corr(pair.sar[2 * m :, 2 * m :], pair.reference) < 0.5


def test_margin_holds_the_sar_around_the_tile(scene):
    """The whole extended SAR tile is the pattern from m px before the tile to m px after it."""
    pair = read_tile_pair(scene(Window(64, 32, 128, 128), 24))
    expected = pattern_on_reference_grid(64 - 24, 32 - 24, 128 + 48, 128 + 48)
    assert corr(pair.sar, expected) > 0.97
    for strip, truth in [(pair.sar[:24], expected[:24]), (pair.sar[:, -24:], expected[:, -24:])]:
        assert corr(strip, truth) > 0.95


def test_margin_beyond_reference_edge_reads_sar_there(scene):
    """A tile at the reference corner: the margin lies outside the reference grid, yet holds valid SAR."""
    pair = read_tile_pair(scene(Window(0, 0, 96, 96), 20))
    assert pair.sar_valid.all()
    expected = pattern_on_reference_grid(-20, -20, 136, 136)
    assert corr(pair.sar[:20], expected[:20]) > 0.95
    assert corr(pair.sar[:, :20], expected[:, :20]) > 0.95


def test_reference_nodata_is_invalid(scene):
    pair = read_tile_pair(scene(Window(0, 0, 64, 64), 8))
    assert not pair.reference_valid[:8, :8].any()
    assert pair.reference_valid[8:, :].all() and pair.reference_valid[:, 8:].all()
    # Invalid pixels are filled from valid neighbours (no artificial edge), never left at a fill value.
    assert np.isin(pair.reference[:8, :8], pair.reference[pair.reference_valid]).all()


@pytest.mark.parametrize("sar_nodata", [None, -999.0], ids=["alpha", "nodata-value"])
def test_sar_outside_its_footprint_is_invalid(scene, sar_nodata):
    """The SAR ends at reference column ≈200: pixels east of it are invalid (alpha band or nodata value)."""
    pair = read_tile_pair(scene(Window(128, 64, 128, 128), 16, east_px=200, sar_nodata=sar_nodata))
    # Extended-tile column j is reference column 128 - 16 + j; the SAR edge at ≈200 is j ≈ 88.
    assert pair.sar_valid[:, :84].all()
    assert not pair.sar_valid[:, 92:].any()
    assert np.isin(pair.sar[:, 92:], pair.sar[pair.sar_valid]).all()
    expected = pattern_on_reference_grid(112, 48, 84, 160)
    assert corr(pair.sar[:, :84], expected) > 0.95


def test_replaced_sar_file_is_read_afresh(scene, tmp_path, write_raster):
    recipe = scene(Window(64, 64, 128, 128), 16)
    first = read_tile_pair(recipe)
    with rasterio.open(recipe.sar.path) as src:
        profile, data = src.profile, src.read(1)
    replacement = write_raster(tmp_path / "new.tif", np.ascontiguousarray(data[::-1, ::-1]), **{
        k: profile[k] for k in ("crs", "transform", "nodata")
    })
    os.replace(replacement, recipe.sar.path)
    second = read_tile_pair(recipe)
    assert corr(second.sar, first.sar) < 0.5


def test_fill_from_nearest_leaves_no_step_at_the_data_boundary():
    """Invalid pixels take their nearest valid neighbour's value, so no artificial edge appears."""
    from sarlign.tiling.reading import fill_from_nearest

    image = np.tile(np.linspace(0.2, 0.8, 8, dtype=np.float32), (6, 1))
    valid = np.ones_like(image, dtype=bool)
    valid[:, 5:] = False
    filled = fill_from_nearest(np.where(valid, image, 0.0), valid)
    np.testing.assert_array_equal(filled[:, :5], image[:, :5])
    np.testing.assert_array_equal(filled[:, 5:], np.repeat(image[:, 4:5], 3, axis=1))
    assert not fill_from_nearest(image, np.zeros_like(valid)).any()


@pytest.mark.parametrize("sar_nodata", [None, -9999.0])
def test_gcp_only_sar_reads_as_its_geotransform_twin(scene, sar_nodata):
    """The same SAR georeferenced by GCPs (read through GDAL's GCP transformer) reads as with its
    geotransform, inside its footprint and in what is invalid beyond it."""
    window = Window(64, 64, 128, 128)
    twin = read_tile_pair(scene(window, 40, east_px=200, sar_nodata=sar_nodata))
    recipe = scene(window, 40, east_px=200, sar_nodata=sar_nodata, name="sar_gcps.tif", by_gcps=True)
    with rasterio.open(recipe.sar.path) as src:
        assert src.crs is None and len(src.gcps[0]) == 36  # georeferenced by its GCPs alone
    by_gcps = read_tile_pair(recipe)
    assert (by_gcps.sar_valid == twin.sar_valid).mean() > 0.99
    both = by_gcps.sar_valid & twin.sar_valid
    assert np.abs(by_gcps.sar[both] - twin.sar[both]).max() < 0.01
    assert not by_gcps.sar_valid[:, -20:].any()  # east of the footprint
