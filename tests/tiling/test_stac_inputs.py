"""STAC Items resolve to the assets of the bands asked for (keys, band names, defaults, stacking)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from affine import Affine

from sarlign.errors import InputError
from sarlign.tiling.inputs import resolve_input
from sarlign.tiling.stac_inputs import _href, is_stac_item

GRID = Affine(10, 0, 300000, 0, -10, 5300000)


@pytest.fixture
def s2_item(tmp_path, write_raster):
    """A Sentinel-2 Item beside four single-band assets: keys as Earth Search names them, ESA band names in
    ``eo:bands``; hrefs relative to the Item."""
    assets = {}
    for key, name, value in (("blue", "B02", 1), ("green", "B03", 2), ("red", "B04", 3), ("nir", "B08", 4)):
        write_raster(tmp_path / f"{name}.tif", np.full((16, 16), value, np.uint16), transform=GRID, nodata=0)
        assets[key] = {"href": f"./{name}.tif", "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                       "roles": ["data"], "eo:bands": [{"name": name, "common_name": key}]}
    assets["thumbnail"] = {"href": "./preview.jpg", "type": "image/jpeg", "roles": ["thumbnail"]}
    item = {"type": "Feature", "stac_version": "1.0.0", "id": "S2B_11SLT_20230615_0_L2A", "collection": "sentinel-2-l2a",
            "properties": {"datetime": "2023-06-15T18:40:00Z", "platform": "sentinel-2b", "constellation": "sentinel-2"},
            "geometry": None, "links": [], "assets": assets}
    path = tmp_path / "item.json"
    path.write_text(json.dumps(item))
    return path


def test_a_sentinel2_item_gives_its_near_infrared_asset_by_default(s2_item):
    found = resolve_input(str(s2_item), "reference", None)
    assert found.dataset == str(s2_item.parent / "B08.tif") and found.bands == (1,)
    assert found.product["stac_item"] == "S2B_11SLT_20230615_0_L2A" and found.product["assets"] == ["nir"]


def test_item_bands_are_found_by_key_band_name_or_common_name_and_stacked(s2_item):
    for names in (("B04", "B03", "B02"), ("red", "green", "blue"), ("b4", "B3", "blue")):
        found = resolve_input(str(s2_item), "reference", names)
        assert found.bands == (1, 2, 3) and found.product["assets"] == ["red", "green", "blue"]
        with rasterio.open(found.dataset) as src:  # the in-memory VRT stacking the three assets
            assert src.count == 3 and src.transform == GRID and src.nodata == 0
            assert [int(src.read(b)[0, 0]) for b in (1, 2, 3)] == [3, 2, 1]


def test_an_item_without_the_band_asked_for_names_its_raster_assets(s2_item):
    with pytest.raises(InputError, match=r"no asset for band B11 .* \(its raster assets: blue, green, red, nir\)") as info:
        resolve_input(str(s2_item), "reference", ("B11",))
    assert info.value.path == str(s2_item)


def test_json_that_is_no_item_and_a_missing_item_exit_as_bad_input(tmp_path):
    collection = tmp_path / "collection.json"
    collection.write_text(json.dumps({"type": "Collection", "id": "x"}))
    with pytest.raises(InputError, match="not a STAC Item"):
        resolve_input(str(collection), "reference", None)
    with pytest.raises(InputError, match="does not exist"):
        resolve_input(str(tmp_path / "absent.json"), "reference", None)


@pytest.mark.parametrize(
    ("location", "item"),
    [
        ("s2.json", True),
        ("https://earth-search.aws.element84.com/v1/collections/sentinel-2-l2a/items/S2B_11SLT_20230615_0_L2A", True),
        ("https://host/cogs/B08.tif", False),
        ("https://host/catalog/items/S1A_VV.tif", False),
        ("https://host/items/s2.json?sig=abc", True),
        ("/vsicurl/https://host/x.tif", False),
    ],
)
def test_what_counts_as_a_stac_item(location, item):
    assert is_stac_item(location) is item


def test_a_band_of_a_multi_band_asset_is_that_band(s2_item, write_raster):
    item = json.loads(s2_item.read_text())
    write_raster(s2_item.parent / "TCI.tif", np.stack([np.full((16, 16), v, np.uint8) for v in (30, 20, 10)]), transform=GRID)
    item["assets"] = {"visual": {"href": "TCI.tif", "type": "image/tiff", "roles": ["data"],
                                 "eo:bands": [{"name": "B04", "common_name": "red"}, {"name": "B03", "common_name": "green"},
                                              {"name": "B02", "common_name": "blue"}]}}
    s2_item.write_text(json.dumps(item))
    found = resolve_input(str(s2_item), "reference", ("blue",))
    assert found.dataset == str(s2_item.parent / "TCI.tif") and found.bands == (3,)
    assert resolve_input(str(s2_item), "reference", ("B02", "B04")).bands == (3, 1)  # one asset: no VRT


def test_relative_hrefs_of_a_remote_item_are_urls():
    assert _href("https://stac.example/v1/items/x.json", {"href": "/data/B08.tif"}) == "https://stac.example/data/B08.tif"
    assert _href("https://stac.example/v1/items/x.json", {"href": "B08.tif"}) == "https://stac.example/v1/items/B08.tif"
    assert _href("https://stac.example/x.json", {"href": "s3://bucket/B08.tif"}) == "s3://bucket/B08.tif"
