"""The Volkov Sentinel-1/Sentinel-2 pairs: finding them, their geotransforms, and writing them as GeoTIFFs."""

import json
import warnings

import numpy as np
import pytest
import rasterio
from rasterio.errors import NotGeoreferencedWarning

from sarlign.training.volkov import CRS_CODE, load_pairs, open_png, write_geotiffs

VOLKOV = "pairs/volkov_s1s2"
IDS = ["020", "030", "101", "156", "171", "199", "214", "253", "260", "270"]


def corners(ul, width, height, px=10.0):
    """UL, UR, LR, LL outer corners of a north-up grid."""
    x, y = ul
    return [[x, y], [x + width * px, y], [x + width * px, y - height * px], [x, y - height * px]]


@pytest.fixture
def small_folder(tmp_path, write_raster):
    """PNG pairs 001 (good, 8 × 6), 002 (two metadata entries), 003 (no SAR PNG), 004 (no metadata)."""
    rng = np.random.default_rng(0)
    for pair_id in ("001", "002", "003", "004"):
        write_raster(tmp_path / f"volkov_{pair_id}_opt.png", rng.integers(0, 255, (3, 6, 8), dtype=np.uint8),
                     crs=None, driver="PNG")
        if pair_id != "003":
            write_raster(tmp_path / f"volkov_{pair_id}_sar.png", rng.integers(0, 255, (3, 6, 8), dtype=np.uint8),
                         crs=None, driver="PNG")
    metadata = [
        {"fragment_filename": "001.png", "corners_EPSG:3395": corners((1000.0, 5000.0), 8, 6, px=20.0)},
        {"fragment_filename": "002.png", "corners_EPSG:3395": corners((0.0, 0.0), 8, 6)},
        {"fragment_filename": "002.png", "corners_EPSG:3395": corners((100.0, 0.0), 8, 6)},
        {"fragment_filename": "003.png", "corners_EPSG:3395": corners((0.0, 0.0), 8, 6)},
    ]
    (tmp_path / "volkov_metadata.json").write_text(json.dumps(metadata))
    return tmp_path


def test_open_png_silences_the_georeferencing_warning(small_folder):
    """A PNG opens without NotGeoreferencedWarning."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", NotGeoreferencedWarning)
        with open_png(small_folder / "volkov_001_opt.png") as src:
            assert (src.count, src.width, src.height) == (3, 8, 6)


def test_load_pairs_keeps_only_complete_unambiguous_pairs(small_folder):
    """Only pair 001 has both PNGs and exactly one metadata entry; its grid spans the stated corners."""
    pairs = load_pairs(small_folder)
    assert [p.pair_id for p in pairs] == ["001"]
    pair = pairs[0]
    assert pair.optical == small_folder / "volkov_001_opt.png"
    assert pair.sar == small_folder / "volkov_001_sar.png"
    assert tuple(pair.transform)[:6] == pytest.approx((20.0, 0.0, 1000.0, 0.0, -20.0, 5000.0))
    assert rasterio.transform.array_bounds(6, 8, pair.transform) == pytest.approx((1000.0, 4880.0, 1160.0, 5000.0))


def test_load_pairs_on_shared_data(shared_file):
    """The shared folder holds 10 usable pairs with ≈ 10 m north-up pixels at the stated corners."""
    folder = shared_file(VOLKOV)
    pairs = load_pairs(folder)
    assert [p.pair_id for p in pairs] == IDS
    entries = {e["fragment_filename"][:3]: e["corners_EPSG:3395"]
               for e in json.loads((folder / "volkov_metadata.json").read_text())}
    for pair in pairs:
        t = pair.transform
        assert t.a == pytest.approx(10.0, rel=1e-3) and t.e == pytest.approx(-10.0, rel=1e-3)
        assert t.b == 0.0 and t.d == 0.0
        ul, _, lr, _ = entries[pair.pair_id]
        assert t @ (0, 0) == pytest.approx(tuple(ul))
        assert t @ (1024, 1024) == pytest.approx(tuple(lr), abs=1e-6)


def test_write_geotiffs_matches_pngs_on_the_stated_grid(shared_file, tmp_path):
    """Optical: 3 bands, SAR: 1 band, uint8, EPSG:3395 on the pair's grid, pixels identical to the PNGs."""
    pair = load_pairs(shared_file(VOLKOV))[0]
    optical, sar = write_geotiffs(pair, tmp_path)
    assert (optical.name, sar.name) == ("volkov_020_opt.tif", "volkov_020_sar.tif")
    assert CRS_CODE == "EPSG:3395"
    with open_png(pair.optical) as png:
        optical_png = png.read()
    with open_png(pair.sar) as png:
        sar_png = png.read(1)
    for path, count, expected in ((optical, 3, optical_png), (sar, 1, sar_png[None])):
        with rasterio.open(path) as src:
            assert src.driver == "GTiff"
            assert src.count == count and src.dtypes == ("uint8",) * count
            assert (src.width, src.height) == (1024, 1024)
            assert src.crs == rasterio.crs.CRS.from_epsg(3395)
            assert src.transform == pair.transform
            np.testing.assert_array_equal(src.read(), expected)
