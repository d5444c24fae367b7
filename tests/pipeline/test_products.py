"""Sentinel products as delivered, local and over HTTP: the same correction as the same pixels as plain
GeoTIFFs, their metadata in the report and the STAC Item, and exit 2 naming a product that cannot serve.

The products are the bundled demo pair written as SAFE products (``tests/safe_products.py``): the known
misregistration of the demo's SAR travels in the GRD product's GCPs.
"""

from __future__ import annotations

import csv
import json
import shutil
import sqlite3
import zipfile

import numpy as np
import pytest
import rasterio
import rasterio.shutil

from sarlign.coords import map_points

TOLERANCE_PX = 0.5  # issue 15: a product must give what the same pixels give as plain GeoTIFFs


@pytest.fixture(scope="module")
def plain(demo_products, tmp_path_factory) -> dict:
    """The report of the same pixels given as plain GeoTIFFs (reference B4, B3, B2; the VV measurement)."""
    from sarlign.pipeline.cli import run_command_line

    out = tmp_path_factory.mktemp("plain") / "plain.tif"
    assert run_command_line(["register", str(demo_products.reference_tif), str(demo_products.sar_tif), "-o", str(out), "-q"]) == 0
    return json.loads(out.with_suffix(".json").read_text())


def _shift_difference(report: dict, plain: dict) -> float:
    return float(np.hypot(*np.subtract(report["correction"]["shift_px"], plain["correction"]["shift_px"])))


def test_safe_folders_give_what_the_same_pixels_give_as_geotiffs(sarlign, demo_products, plain, tmp_path):
    ran = sarlign("register", demo_products.s2_l2a, demo_products.s1, "-o", tmp_path / "x.tif",
                  "--reference-bands", "B04,B03,B02", "--json", "--quiet")
    assert ran.code == 0, ran
    report = ran.json()
    assert _shift_difference(report, plain) < TOLERANCE_PX
    assert max(abs(v) for v in report["correction"]["shift_px"]) > 5  # the demo's known misregistration
    reference, sar = report["inputs"]["reference"], report["inputs"]["sar"]
    assert reference["path"] == str(demo_products.s2_l2a) and reference["dataset"].startswith("SENTINEL2_L2A:")
    assert reference["bands_used"] == [1, 2, 3] and reference["product"]["bands"] == ["B4", "B3", "B2"]
    assert sar["dataset"].endswith(":IW_VV:AMPLITUDE") and sar["gcps"] == 36
    assert sar["nodata"] == 0 and reference["nodata"] == 0  # the products' no-data DN, in force
    with rasterio.open(tmp_path / "x.tif") as output:
        assert output.nodata == 0  # and declared in the output, so overviews and warps leave it out
    assert sar["product"]["relative_orbit"] == 102 and sar["product"]["orbit_state"] == "ascending"


def test_zipped_products_with_the_default_bands_register_and_describe_the_sar(sarlign, demo_products, plain, tmp_path):
    """Default bands: B8 of the L1C product (here the grey of the demo's RGB), VV of the GRD."""
    ran = sarlign("register", demo_products.s2_l1c_zip, demo_products.s1_zip, "-o", tmp_path / "x.tif", "--json", "--quiet")
    assert ran.code == 0, ran
    report = ran.json()
    assert _shift_difference(report, plain) < TOLERANCE_PX
    assert report["inputs"]["reference"]["product"]["bands"] == ["B8"]
    item = json.loads((tmp_path / "x.stac.json").read_text())
    properties = item["properties"]
    assert properties["datetime"] == "2023-06-15T17:08:21.482190Z"  # the GRD's acquisition start
    assert (properties["platform"], properties["constellation"]) == ("sentinel-1a", "sentinel-1")
    assert properties["sar:instrument_mode"] == "IW" and properties["sar:frequency_band"] == "C"
    assert properties["sar:polarizations"] == ["VH", "VV"] and properties["sar:product_type"] == "GRD"
    assert (properties["sat:orbit_state"], properties["sat:relative_orbit"]) == ("ascending", 102)
    links = [link["href"] for link in item["links"] if link["rel"] == "derived_from"]
    assert links == [str(demo_products.s2_l1c_zip), str(demo_products.s1_zip)]


def test_zipped_products_over_http_are_read_by_range_requests(sarlign, demo_products, plain, tmp_path, http_folder):
    url, served, requests = http_folder
    for product in (demo_products.s2_l1c_zip, demo_products.s1_zip):
        shutil.copy(product, served / product.name)
    reference, sar = f"{url}/{demo_products.s2_l1c_zip.name}", f"{url}/{demo_products.s1_zip.name}"
    ran = sarlign("register", reference, sar, "-o", tmp_path / "x.tif", "--json", "--quiet")
    assert ran.code == 0, ran
    assert _shift_difference(ran.json(), plain) < TOLERANCE_PX
    assert ran.json()["inputs"]["sar"]["path"] == sar
    assert all(status == 206 for method, _, _, status in requests if method == "GET"), requests


def _write_items(demo_products, folder) -> tuple[str, str]:
    """A Sentinel-2 Item with one COG per 10 m band and a Sentinel-1 Item whose ``vv`` asset is the GRD
    measurement GeoTIFF, as Earth Search describes them, assets beside the Items (relative hrefs);
    returns the Items' file names."""
    with rasterio.open(demo_products.reference_tif) as src:
        profile = {**src.profile, "count": 1}
        assets = {}
        for band, (key, name) in enumerate((("red", "B04"), ("green", "B03"), ("blue", "B02")), start=1):
            with rasterio.open(folder / f"{name}.tif", "w", **{**profile, "driver": "COG"}) as dst:
                dst.write(src.read(band), 1)
            assets[key] = {"href": f"{name}.tif", "type": "image/tiff; application=geotiff; profile=cloud-optimized",
                           "roles": ["data"], "eo:bands": [{"name": name, "common_name": key}]}
    shutil.copy(demo_products.sar_tif, folder / "vv.tiff")
    common = {"type": "Feature", "stac_version": "1.0.0", "geometry": None, "links": []}
    s2 = {**common, "id": "S2B_11SLT_20230615_0_L2A", "collection": "sentinel-2-l2a", "assets": assets,
          "properties": {"datetime": "2023-06-15T10:15:59Z", "platform": "sentinel-2b"}}
    s1 = {**common, "id": "S1A_IW_GRDH_1SDV_20230615T170821", "collection": "sentinel-1-grd",
          "assets": {"vv": {"href": "vv.tiff", "type": "image/tiff; application=geotiff", "roles": ["data"]}},
          "properties": {"datetime": "2023-06-15T17:08:21.482190Z", "platform": "sentinel-1a",
                         "constellation": "sentinel-1", "sar:instrument_mode": "IW", "sar:product_type": "GRD",
                         "sar:polarizations": ["VV", "VH"], "sat:orbit_state": "ascending", "sat:relative_orbit": 102}}
    for name, item in (("s2_item.json", s2), ("s1_item.json", s1)):
        (folder / name).write_text(json.dumps(item))
    return "s2_item.json", "s1_item.json"


def test_two_stac_items_over_http_register_as_their_plain_pixels_do(sarlign, demo_products, plain, tmp_path, http_folder):
    url, served, requests = http_folder
    s2_item, s1_item = (f"{url}/{name}" for name in _write_items(demo_products, served))
    ran = sarlign("register", s2_item, s1_item, "-o", tmp_path / "x.tif", "--reference-bands", "B04,B03,B02",
                  "--json", "--quiet")
    assert ran.code == 0, ran
    report = ran.json()
    assert _shift_difference(report, plain) < TOLERANCE_PX
    assert report["inputs"]["reference"]["product"]["assets"] == ["red", "green", "blue"]
    assert report["inputs"]["sar"]["product"]["relative_orbit"] == 102
    item = json.loads((tmp_path / "x.stac.json").read_text())
    assert [link["href"] for link in item["links"] if link["rel"] == "derived_from"] == [s2_item, s1_item]
    assert item["properties"]["sar:instrument_mode"] == "IW" and item["properties"]["sat:relative_orbit"] == 102
    assert item["properties"]["platform"] == "sentinel-1a"
    reads = [status for method, path, _, status in requests if method == "GET" and path.endswith(".tif")]
    assert reads and set(reads) == {206}, requests


def test_a_batch_takes_products_and_band_names_in_its_pairs_file(sarlign, demo_products, plain, tmp_path):
    pairs = tmp_path / "pairs.csv"
    with open(pairs, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["reference", "sar", "name", "reference_bands", "sar_band"])
        writer.writerow([demo_products.s2_l2a, demo_products.s1_zip, "l2a_vv", "B04 B03 B02", "VV"])
    ran = sarlign("batch", pairs, "--out-dir", tmp_path / "out", "--quiet")
    assert ran.code == 0, ran
    report = json.loads((tmp_path / "out" / "l2a_vv.json").read_text())
    assert _shift_difference(report, plain) < TOLERANCE_PX
    assert report["inputs"]["reference"]["product"]["bands"] == ["B4", "B3", "B2"]


@pytest.mark.parametrize(
    ("arguments", "named", "problem"),
    [
        (("--reference-bands", "B11"), "S2B_MSIL2A", "no band named B11"),
        (("--sar-band", "HH"), "S1A_IW_GRDH", "no polarisation HH (it has VH, VV)"),
    ],
)
def test_a_band_a_product_does_not_have_exits_2_naming_the_product(sarlign, demo_products, tmp_path, arguments, named, problem):
    ran = sarlign("register", demo_products.s2_l2a, demo_products.s1, "-o", tmp_path / "x.tif", *arguments)
    assert ran.code == 2 and len(ran.lines) == 1, ran
    assert named in ran.stderr and problem in ran.stderr
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("name", "problem"), [("nowhere.tif", "404"), (f"{'S1A_IW_GRDH_1SDV_' + 'X' * 8}.zip", "missing, unreachable")])
def test_missing_remote_files_exit_2_naming_the_url(sarlign, demo_products, tmp_path, http_folder, name, problem):
    missing = f"{http_folder[0]}/{name}"
    ran = sarlign("register", demo_products.s2_l2a, missing, "-o", tmp_path / "x.tif")
    assert ran.code == 2 and missing in ran.stderr and problem in ran.stderr and len(ran.lines) == 1, ran
    assert [p.name for p in tmp_path.iterdir()] == ["served"]


def test_a_server_without_range_requests_exits_2_naming_the_url(sarlign, demo_products, tmp_path, http_folder_without_ranges):
    url, served, _ = http_folder_without_ranges
    shutil.copy(demo_products.reference_tif, served / "reference.tif")
    ran = sarlign("register", f"{url}/reference.tif", demo_products.s1, "-o", tmp_path / "x.tif")
    assert ran.code == 2 and f"{url}/reference.tif" in ran.stderr and "Range" in ran.stderr and len(ran.lines) == 1, ran


def test_a_transient_http_error_is_retried(sarlign, demo_products, plain, tmp_path, http_folder):
    url, served, requests = http_folder
    shutil.copy(demo_products.s1_zip, served / demo_products.s1_zip.name)
    requests.fail_once.add(f"/{demo_products.s1_zip.name}")
    ran = sarlign("register", demo_products.s2_l2a, f"{url}/{demo_products.s1_zip.name}", "-o", tmp_path / "x.tif",
                  "--reference-bands", "B04,B03,B02", "--json", "--quiet")
    assert ran.code == 0, ran
    assert any(status == 503 for *_, status in requests) and _shift_difference(ran.json(), plain) < TOLERANCE_PX


def test_two_remote_cogs_over_vsicurl_register_as_local_ones(sarlign, demo_products, plain, tmp_path, http_folder):
    """Both inputs remote: the reference a Cloud-Optimized GeoTIFF, the SAR the GRD measurement GeoTIFF."""
    url, served, requests = http_folder
    rasterio.shutil.copy(demo_products.reference_tif, served / "reference_cog.tif", driver="COG")
    shutil.copy(demo_products.sar_tif, served / "sar_vv.tiff")
    reference, sar = f"/vsicurl/{url}/reference_cog.tif", f"/vsicurl/{url}/sar_vv.tiff"
    ran = sarlign("register", reference, sar, "-o", tmp_path / "x.tif", "--json", "--quiet")
    assert ran.code == 0, ran
    assert _shift_difference(ran.json(), plain) < TOLERANCE_PX
    assert (ran.json()["inputs"]["reference"]["path"], ran.json()["inputs"]["sar"]["path"]) == (reference, sar)
    assert {status for method, *_, status in requests if method == "GET"} == {206}, requests


def test_clouds_of_the_scene_classification_give_no_tie_points(sarlign, demo_products, plain, tmp_path):
    """--mask-clouds: none of the tie points lies where the L2A product's SCL says cloud; without it, many do."""
    found = {}
    for masked in (False, True):
        out = tmp_path / f"masked_{masked}.tif"
        ran = sarlign("register", demo_products.s2_l2a, demo_products.s1, "-o", out, "--reference-bands",
                      "B04,B03,B02", "--json", "--quiet", *(["--mask-clouds"] if masked else []))
        assert ran.code == 0, ran
        with sqlite3.connect(out.with_suffix(".gpkg")) as db:
            found[masked] = db.execute("select ref_col, ref_row from tie_points").fetchall()
        report = ran.json()
    with rasterio.open(report["inputs"]["reference"]["dataset"]) as src:
        inverse = ~src.transform
    left, bottom, right, top = demo_products.cloud_box
    # Reference pixels (x, y), corners at integers, of the cloud's top-left and bottom-right corners.
    (col0, row0), (col1, row1) = map_points(inverse, np.array([[left, top], [right, bottom]]))

    def in_cloud(points):
        return [p for p in points if col0 <= p[0] <= col1 and row0 <= p[1] <= row1]

    assert len(in_cloud(found[False])) > 20 and in_cloud(found[True]) == []
    assert _shift_difference(report, plain) < TOLERANCE_PX


def test_masking_clouds_needs_an_l2a_product(sarlign, demo_products, tmp_path):
    ran = sarlign("register", demo_products.s2_l1c_zip, demo_products.s1, "-o", tmp_path / "x.tif", "--mask-clouds")
    assert ran.code == 2 and "needs a Sentinel-2 L2A product" in ran.stderr and len(ran.lines) == 1, ran


def test_calibrate_writes_sigma0_from_the_products_lut(sarlign, demo_products, plain, tmp_path, safe_products):
    """σ⁰ = DN² / A², with A the product's sigmaNought LUT; the test product's LUT is 237 / sqrt(sin θ), θ
    growing linearly across the image from the near to the far incidence angle."""
    ran = sarlign("register", demo_products.s2_l2a, demo_products.s1_zip, "-o", tmp_path / "x.tif", "--calibrate",
                  "sigma0", "--reference-bands", "B04,B03,B02", "--json", "--quiet")
    assert ran.code == 0, ran
    assert _shift_difference(ran.json(), plain) < TOLERANCE_PX
    with rasterio.open(tmp_path / "x.tif") as out, rasterio.open(demo_products.sar_tif) as grd:
        sigma0, dn = out.read(1), grd.read(1).astype(np.float64)
        assert out.dtypes[0] == "float32" and out.descriptions == ("sigma0 VV",) and len(out.gcps[0]) == 36
    near, far = safe_products.S1_NEAR_INCIDENCE, safe_products.S1_FAR_INCIDENCE
    incidence = np.deg2rad(np.linspace(near, far, dn.shape[1]))
    np.testing.assert_allclose(sigma0, dn**2 * np.sin(incidence) / 237.0**2, rtol=1e-3)


def test_calibrate_needs_a_sentinel1_product(sarlign, demo_products, tmp_path):
    ran = sarlign("register", demo_products.reference_tif, demo_products.sar_tif, "-o", tmp_path / "x.tif", "--calibrate", "gamma0")
    assert ran.code == 2 and "--calibrate needs a Sentinel-1 GRD product" in ran.stderr and len(ran.lines) == 1, ran


def test_products_that_cannot_serve_exit_2_naming_them(sarlign, demo_products, tmp_path):
    """A zip that holds no SAFE product, an L1B product, and a STAC Item without an asset for the band."""
    plain_zip = tmp_path / "rasters.zip"
    with zipfile.ZipFile(plain_zip, "w") as archive:
        archive.write(demo_products.reference_tif, "reference.tif")
    l1b = tmp_path / "S2B_MSIL1B_20230615T101559_N0509_R136_20230615T131559.zip"
    shutil.copy(plain_zip, l1b)
    item = tmp_path / "item.json"
    item.write_text(json.dumps({"type": "Feature", "stac_version": "1.0.0", "id": "x", "geometry": None, "links": [],
                                "properties": {"platform": "sentinel-2b"},
                                "assets": {"thumbnail": {"href": "x.jpg", "type": "image/jpeg", "roles": ["thumbnail"]}}}))
    for product, problem in ((plain_zip, "not a zipped SAFE product"), (l1b, "L1B"), (item, "no asset for band nir")):
        out = tmp_path / "out"
        out.mkdir(exist_ok=True)
        ran = sarlign("register", product, demo_products.s1, "-o", out / "x.tif")
        assert ran.code == 2 and str(product) in ran.stderr and problem in ran.stderr and len(ran.lines) == 1, ran
        assert list(out.iterdir()) == []


def test_products_given_the_wrong_way_round_exit_2_saying_so(sarlign, demo_products, tmp_path):
    ran = sarlign("register", demo_products.s1_zip, demo_products.s2_l2a, "-o", tmp_path / "x.tif")
    assert ran.code == 2 and "swap them?" in ran.stderr and str(demo_products.s1_zip) in ran.stderr, ran
