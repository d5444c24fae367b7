"""Sentinel products and band names resolve to the dataset GDAL reads and the bands used."""

from __future__ import annotations

import zipfile

import numpy as np
import pytest
import rasterio
from affine import Affine

from sarlign.errors import InputError
from sarlign.locations import vsi_path
from sarlign.tiling.inputs import band_selectors, resolve_input


def test_a_sentinel2_folder_resolves_to_its_10m_subdataset_with_b8_by_default(demo_products):
    given = str(demo_products.s2_l2a)
    found = resolve_input(given, "reference", None)
    assert found.location == given
    assert found.dataset.startswith("SENTINEL2_L2A:") and found.dataset.endswith(":10m:EPSG_32611")
    assert found.bands == (4,) and found.product["bands"] == ["B8"]
    assert found.nodata == 0.0
    assert found.product["kind"] == "sentinel-2" and found.product["level"] == "S2MSI2A"
    assert found.product["processing_baseline"] == "05.09"
    with rasterio.open(found.dataset) as src:
        assert src.tags(4)["BANDNAME"] == "B8" and src.crs.to_epsg() == 32611


@pytest.mark.parametrize(
    ("names", "bands"),
    [(("B04", "B03", "B02"), (1, 2, 3)), (("b8",), (4,)), (("nir", "Red"), (4, 1)), (("4", "3", "2"), (1, 2, 3))],
)
def test_sentinel2_bands_are_named_as_esa_or_gdal_writes_them_or_by_common_name(demo_products, names, bands):
    assert resolve_input(str(demo_products.s2_l2a), "reference", names).bands == bands


def test_a_zipped_sentinel2_product_is_read_inside_its_zip(demo_products):
    found = resolve_input(str(demo_products.s2_l1c_zip), "reference", ("B08",))
    assert found.dataset.startswith(f"SENTINEL2_L1C:/vsizip/{demo_products.s2_l1c_zip}/")
    assert found.bands == (4,) and found.product["level"] == "S2MSI1C"


def test_a_sentinel2_band_the_product_does_not_have_is_named_with_those_it_has(demo_products):
    with pytest.raises(InputError, match=r"no band named B11 \(it has B4, B3, B2, B8, AOT, WVP\)") as info:
        resolve_input(str(demo_products.s2_l2a), "reference", ("B11",))
    assert info.value.path == str(demo_products.s2_l2a)


def test_a_sentinel1_product_resolves_to_the_vv_subdataset_with_its_orbit(demo_products):
    for given in (demo_products.s1, demo_products.s1 / "manifest.safe", demo_products.s1_zip):
        found = resolve_input(str(given), "SAR", None)
        assert found.dataset.startswith("SENTINEL1_CALIB:UNCALIB:") and found.dataset.endswith(":IW_VV:AMPLITUDE")
        assert found.bands == (1,) and found.nodata == 0.0
        product = found.product
        assert (product["platform"], product["instrument_mode"], product["product_type"]) == ("S1A", "IW", "GRD")
        assert product["polarizations"] == ["VH", "VV"] and product["orbit_state"] == "ascending"
        assert product["relative_orbit"] == 102 and product["absolute_orbit"] == 48999
    with rasterio.open(found.dataset) as src:
        assert src.gcps[1].to_epsg() == 4326 and len(src.gcps[0]) == 36


def test_a_sentinel1_polarisation_is_picked_by_name_and_a_missing_one_is_named(demo_products):
    assert resolve_input(str(demo_products.s1_zip), "SAR", ("vh",)).dataset.endswith(":IW_VH:AMPLITUDE")
    with pytest.raises(InputError, match=r"no polarisation HH \(it has VH, VV\)"):
        resolve_input(str(demo_products.s1), "SAR", ("HH",))
    with pytest.raises(InputError, match="one polarisation"):
        resolve_input(str(demo_products.s1), "SAR", ("VV", "VH"))
    with pytest.raises(InputError, match="name the Sentinel-1 product's polarisation"):
        resolve_input(str(demo_products.s1), "SAR", ("2",))


def test_a_zip_in_capitals_and_a_signed_or_safe_zip_url_are_products(demo_products, tmp_path):
    capitals = tmp_path / demo_products.s1_zip.name.replace(".zip", ".ZIP")
    capitals.write_bytes(demo_products.s1_zip.read_bytes())
    assert resolve_input(str(capitals), "SAR", None).product["relative_orbit"] == 102
    name = demo_products.s1_zip.name[: -len(".zip")]
    for url in (f"http://127.0.0.1:9/{name}.zip?token=abc", f"http://127.0.0.1:9/{name}.SAFE.zip"):
        with pytest.raises(InputError, match="missing, unreachable") as info:  # port 9 serves nothing
            resolve_input(url, "SAR", None)
        assert f"{name}.SAFE/manifest.safe" in str(info.value) and ".SAFE.SAFE" not in str(info.value)


def test_products_sarlign_cannot_use_are_refused_naming_them(tmp_path, write_raster):
    l1b = tmp_path / "S2A_MSIL1B_20230615T101559_N0509_R065_20230615T131259.zip"
    l1b.write_bytes(b"")
    with pytest.raises(InputError, match="L1B"):
        resolve_input(str(l1b), "reference", None)
    plain_zip = tmp_path / "rasters.zip"
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.write(write_raster(tmp_path / "s2.tif", np.ones((8, 8), np.uint16)), "s2.tif")
    with pytest.raises(InputError, match="not a zipped SAFE product"):
        resolve_input(str(plain_zip), "reference", None)
    not_zip = tmp_path / "S2B_MSIL2A_20230615T101559_N0509_R065_T11SLT_20230615T131259.zip"
    not_zip.write_text("not a zip")
    with pytest.raises(InputError, match="cannot be read as a zip"):
        resolve_input(str(not_zip), "reference", None)
    with pytest.raises(InputError, match="not a Sentinel-1 or Sentinel-2 SAFE product"):
        resolve_input(str(tmp_path), "reference", None)


def test_plain_raster_bands_are_picked_by_number_or_description(tmp_path, write_raster):
    path = write_raster(tmp_path / "s1.tif", np.ones((2, 8, 8), np.float32), transform=Affine(10, 0, 0, 0, -10, 0))
    with rasterio.open(path, "r+") as dst:
        dst.descriptions = ("VV", "VH")
    assert resolve_input(str(path), "SAR", ("vh",)) == resolve_input(str(path), "SAR", ("2",))
    assert resolve_input(str(path), "SAR", None).bands is None and resolve_input(str(path), "SAR", None).product == {}
    with pytest.raises(InputError, match=r"no band named HH \(it has VV, VH\)"):
        resolve_input(str(path), "SAR", ("HH",))


def test_band_selectors_split_on_commas_semicolons_and_spaces():
    assert band_selectors(" B04, B03;B02 ") == ("B04", "B03", "B02")
    assert band_selectors(",") == ()


@pytest.mark.parametrize(
    ("location", "nested"),
    [
        ("https://host/a/S2.zip", "/vsicurl/https://host/a/S2.zip"),
        ("s3://bucket/key/S1.zip", "/vsis3/bucket/key/S1.zip"),
        ("/vsicurl/https://host/x.zip", "/vsicurl/https://host/x.zip"),
    ],
)
def test_urls_become_gdal_virtual_paths_for_nesting(location, nested):
    assert vsi_path(location) == nested


def test_a_subdataset_name_as_a_qgis_layer_carries_it_is_read_as_its_product(demo_products):
    """QGIS layers of these products are subdatasets: bands by name, defaults and metadata still apply."""
    s2 = resolve_input(str(demo_products.s2_l2a), "reference", None).dataset
    assert resolve_input(s2, "reference", None).bands == (4,)
    assert resolve_input(s2, "reference", ("B02",)).bands == (3,)
    vh = resolve_input(str(demo_products.s1_zip), "SAR", ("VH",)).dataset
    found = resolve_input(vh, "SAR", None)
    assert found.dataset == vh and found.product["polarization"] == "VH" and found.product["relative_orbit"] == 102
