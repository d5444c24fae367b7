"""GDAL locations are strings: only plain local paths are resolved, everything else is kept verbatim."""

from pathlib import Path

import pytest

from sarlign.locations import display_name, file_name, is_local_file, resolved

REMOTE = [
    "/vsicurl/https://host.example/data/S1_VV.tif",
    "/vsizip//data/products/p.zip/measurement/s1.tif",
    "/vsis3/bucket/key/S2_B08.tif",
    "https://host.example/S2_B08.tif",
    "s3://bucket/S2_B08.tif",
    "SENTINEL2_L2A:/data/S2.SAFE/MTD_MSIL2A.xml:10m:EPSG_32632",
]


@pytest.mark.parametrize("location", REMOTE)
def test_gdal_locations_are_not_local_and_stay_verbatim(location, tmp_path):
    assert not is_local_file(location)
    assert resolved(location, tmp_path) == location


def test_local_paths_are_resolved_against_a_base(tmp_path):
    assert is_local_file("data/x.tif") and is_local_file("/abs/x.tif") and is_local_file("C:/data/x.tif")
    assert resolved("data/x.tif", tmp_path) == str((tmp_path / "data" / "x.tif").resolve())
    assert resolved("/abs/x.tif", tmp_path) == str(Path("/abs/x.tif").resolve())


def test_display_name_is_the_last_part():
    assert display_name(REMOTE[0]) == "S1_VV.tif" and display_name("/data/x.tif") == "x.tif"


def test_a_file_name_leaves_a_urls_query_out_and_a_local_name_whole():
    assert file_name("https://host/a/S1.zip?token=abc&x=1") == "S1.zip"
    assert file_name("/vsicurl/https://host/item.json?sig=1") == "item.json"
    assert file_name("/data/odd?name.tif") == "odd?name.tif"
