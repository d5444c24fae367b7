"""The `sarlign register` command end to end (each run starts a one-worker local Dask cluster).

Known misregistrations are made by shifting the real Volkov 101 SAR's geotransform; the dataset's own
alignment is off by about 3 px, so recovered shifts are checked to within 5 px.
"""

import json
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.warp import Resampling, calculate_default_transform, reproject
from typer.testing import CliRunner

import sarlign
from sarlign.pipeline.cli import app

REPO = Path(__file__).resolve().parents[2]

VOLKOV = "geotiff/volkov_s1s2_derived/volkov_101_{}.tif"
SHIFT = (12, -7)  # applied to the SAR geotransform, reference pixels (x, y)
EXPECTED_CORRECTION = (-12.0, 7.0)
TOLERANCE_PX = 5.0


def _register(*args: str):
    return CliRunner().invoke(app, ["register", *map(str, args), "--workers", "1"])


def _flat(text: str) -> str:
    """Text without whitespace, so a path wrapped by the terminal renderer is still found."""
    return "".join(text.split())


@pytest.fixture(scope="module")
def volkov_run(tmp_path_factory, shared_file, shifted_copy):
    """One successful run on Volkov 101 with the SAR georeferenced (+12, −7) px off."""
    reference = shared_file(VOLKOV.format("opt"))
    original = shared_file(VOLKOV.format("sar"))
    work = tmp_path_factory.mktemp("volkov")
    sar = shifted_copy(original, work / "sar_shifted.tif", lambda t: t @ Affine.translation(*SHIFT))
    out_dir = work / "out"
    out_dir.mkdir()
    output = out_dir / "registered.tif"
    result = _register(reference, sar, "-o", output, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    return {"result": result, "output": output, "out_dir": out_dir, "sar": sar, "original": original}


def test_known_shift_is_recovered(volkov_run):
    report = json.loads(volkov_run["result"].stdout)
    dx, dy = report["correction"]["shift_px"]
    assert abs(dx - EXPECTED_CORRECTION[0]) < TOLERANCE_PX, report["correction"]
    assert abs(dy - EXPECTED_CORRECTION[1]) < TOLERANCE_PX, report["correction"]
    q = report["quality"]
    assert q["inliers"] >= 20 and q["rmse_px"] <= 2.0
    assert report["status"] == "ok" and report["transform"] == "affine"
    assert report["tiles"]["matched"] >= 1


def test_all_outputs_written_and_nothing_else(volkov_run):
    names = sorted(p.name for p in volkov_run["out_dir"].iterdir())
    assert names == ["registered.gpkg", "registered.json", "registered.stac.json", "registered.tif", "registered.tif.points"]


def test_report_file_matches_printed_report(volkov_run):
    written = json.loads(volkov_run["output"].with_suffix(".json").read_text())
    printed = json.loads(volkov_run["result"].stdout)
    assert written["format"] == "sarlign-report/1"
    assert written["correction"]["shift_px"] == pytest.approx(printed["correction"]["shift_px"])
    assert written["geotransform"] == printed["geotransform"]
    assert written["outputs"]["raster"] == str(volkov_run["output"])


def test_output_cog_has_new_geotransform_and_same_pixels(volkov_run):
    report = json.loads(volkov_run["output"].with_suffix(".json").read_text())
    new = Affine.from_gdal(*report["geotransform"]["new"])
    with rasterio.open(volkov_run["output"]) as cog, rasterio.open(volkov_run["sar"]) as sar:
        assert cog.tags(ns="IMAGE_STRUCTURE").get("LAYOUT") == "COG"
        assert cog.overviews(1)
        assert cog.transform.almost_equals(new, precision=1e-9)
        assert report["geotransform"]["old"] == pytest.approx(list(sar.transform.to_gdal()))
        assert cog.crs == sar.crs and cog.dtypes == sar.dtypes and cog.nodata == sar.nodata
        np.testing.assert_array_equal(cog.read(), sar.read())


def test_new_geotransform_puts_sar_back_in_place(volkov_run):
    """At the scene centre the new geotransform lands within 5 px of the dataset's own (unshifted) one."""
    with rasterio.open(volkov_run["output"]) as cog, rasterio.open(volkov_run["original"]) as original:
        centre = (original.width / 2, original.height / 2)
        got, truth = np.array(cog.transform @ centre), np.array(original.transform @ centre)
        assert np.all(np.abs(got - truth) < TOLERANCE_PX * abs(original.transform.a))


def test_tie_point_geopackage(volkov_run):
    report = json.loads(volkov_run["output"].with_suffix(".json").read_text())
    gpkg = volkov_run["output"].with_suffix(".gpkg")
    assert {name for name, _ in pyogrio.list_layers(gpkg)} == {"tie_points", "tiles", "layer_styles"}
    points = pyogrio.read_info(gpkg, layer="tie_points")
    tiles = pyogrio.read_info(gpkg, layer="tiles")
    assert points["features"] == report["quality"]["tie_points"]
    assert tiles["features"] == report["tiles"]["total"]
    assert {"residual_px", "inlier", "score", "tile_id"} <= set(points["fields"])
    assert rasterio.crs.CRS.from_user_input(points["crs"]) == rasterio.crs.CRS.from_epsg(3395)


def test_patch_verifier_runs_before_the_fit_and_keeps_the_shift(tmp_path, volkov_run):
    """--verify: the verifier's rejections are counted per tile and the known shift is still recovered."""
    reference = volkov_run["original"].with_name(volkov_run["original"].name.replace("_sar", "_opt"))
    output = tmp_path / "verified.tif"
    result = _register(reference, volkov_run["sar"], "-o", output, "--json", "--quiet", "--verify")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["options"]["verify"] is True
    rejected = [t["verifier_rejected"] for t in report["tiles"]["list"] if "verifier_rejected" in t]
    assert rejected and all(r >= 0 for r in rejected)
    plain = json.loads(volkov_run["result"].stdout)
    assert report["quality"]["tie_points"] == plain["quality"]["tie_points"] - sum(rejected)
    dx, dy = report["correction"]["shift_px"]
    assert abs(dx - EXPECTED_CORRECTION[0]) < TOLERANCE_PX and abs(dy - EXPECTED_CORRECTION[1]) < TOLERANCE_PX


def test_sar_in_geographic_crs(tmp_path, shared_file):
    """The SAR reprojected to EPSG:4326, then georeferenced 120 m E / 70 m N off: still recovered."""
    reference = shared_file(VOLKOV.format("opt"))
    with rasterio.open(shared_file(VOLKOV.format("sar"))) as src:
        transform, width, height = calculate_default_transform(src.crs, "EPSG:4326", src.width, src.height, *src.bounds)
        data = np.zeros((height, width), np.uint8)
        reproject(rasterio.band(src, 1), data, dst_transform=transform, dst_crs="EPSG:4326",
                  resampling=Resampling.bilinear, dst_nodata=0)
        # The same (+12, −7) reference-pixel shift, expressed in degrees at the scene centre.
        cx, cy = src.transform @ (src.width / 2, src.height / 2)
        to_geo = Transformer.from_crs(src.crs, "EPSG:4326", always_xy=True)
        lon0, lat0 = to_geo.transform(cx, cy)
        lon1, lat1 = to_geo.transform(cx + SHIFT[0] * src.transform.a, cy + SHIFT[1] * src.transform.e)
        profile = dict(src.profile, crs="EPSG:4326", width=width, height=height, nodata=0,
                       transform=Affine.translation(lon1 - lon0, lat1 - lat0) @ transform)
    sar = tmp_path / "sar_4326.tif"
    with rasterio.open(sar, "w", **profile) as dst:
        dst.write(data, 1)
    output = tmp_path / "out" / "registered.tif"
    output.parent.mkdir()
    result = _register(reference, sar, "-o", output, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    dx, dy = report["correction"]["shift_px"]
    assert abs(dx - EXPECTED_CORRECTION[0]) < TOLERANCE_PX and abs(dy - EXPECTED_CORRECTION[1]) < TOLERANCE_PX
    assert report["geotransform"]["crs"] == "EPSG:4326"
    with rasterio.open(output) as cog:
        assert cog.crs == rasterio.crs.CRS.from_epsg(4326)
        assert cog.transform.almost_equals(Affine.from_gdal(*report["geotransform"]["new"]), precision=1e-12)
    assert sorted(p.name for p in output.parent.iterdir()) == [
        "registered.gpkg", "registered.json", "registered.stac.json", "registered.tif", "registered.tif.points"
    ]


# --- bad inputs: exit 2, the file named, nothing written -------------------------------------------------

REF_TRANSFORM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)


@pytest.fixture
def small_reference(tmp_path, write_raster):
    data = (np.random.default_rng(0).random((256, 256)) * 200 + 20).astype(np.uint8)
    return write_raster(tmp_path / "ref.tif", data, crs="EPSG:32633", transform=REF_TRANSFORM)


def _bad_sar(kind, tmp_path, write_raster):
    """(sar path, extra CLI args) for one kind of bad input."""
    texture = (np.random.default_rng(1).random((256, 256)) * 200 + 20).astype(np.uint8)
    if kind == "not-a-raster":
        path = tmp_path / "notes.tif"
        path.write_text("this is not a raster\n")
        return path, []
    if kind == "no-crs":
        return write_raster(tmp_path / "nocrs.tif", texture, crs=None, transform=REF_TRANSFORM), []
    if kind == "no-overlap":
        far = Affine.translation(50_000, 0) @ REF_TRANSFORM
        return write_raster(tmp_path / "far.tif", texture, crs="EPSG:32633", transform=far), []
    if kind == "all-nodata":
        empty = np.full((256, 256), 7, np.uint8)
        return write_raster(tmp_path / "empty.tif", empty, crs="EPSG:32633", transform=REF_TRANSFORM, nodata=7), []
    if kind == "missing-band":
        return write_raster(tmp_path / "oneband.tif", texture, crs="EPSG:32633", transform=REF_TRANSFORM), ["--sar-band", "3"]
    raise AssertionError(kind)


@pytest.mark.parametrize("kind", ["not-a-raster", "no-crs", "no-overlap", "all-nodata", "missing-band"])
def test_bad_sar_exits_2_naming_file_and_writes_nothing(kind, tmp_path, write_raster, small_reference):
    sar, extra = _bad_sar(kind, tmp_path, write_raster)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = _register(small_reference, sar, "-o", out_dir / "registered.tif", *extra)
    assert result.exit_code == 2, result.output
    assert _flat(str(sar)) in _flat(result.output)
    assert "error" in result.output
    assert list(out_dir.iterdir()) == []


def test_existing_output_without_overwrite_exits_2(tmp_path, small_reference, write_raster):
    sar, _ = _bad_sar("missing-band", tmp_path, write_raster)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    existing = out_dir / "registered.tif"
    existing.write_bytes(b"previous result")
    result = _register(small_reference, sar, "-o", existing)
    assert result.exit_code == 2, result.output
    assert _flat(str(existing)) in _flat(result.output)
    assert "--overwrite" in _flat(result.output)
    assert [p.name for p in out_dir.iterdir()] == ["registered.tif"]
    assert existing.read_bytes() == b"previous result"


def test_unmatchable_pair_is_refused_with_exit_3(tmp_path, write_raster, small_reference):
    """Unrelated noise cannot give a trustworthy fit: exit 3, no result, only the refusal's diagnosis."""
    noise = (np.random.default_rng(5).random((256, 256)) * 200 + 20).astype(np.uint8)
    sar = write_raster(tmp_path / "noise.tif", noise, crs="EPSG:32633", transform=REF_TRANSFORM)
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    result = _register(small_reference, sar, "-o", out_dir / "registered.tif", "--quiet")
    assert result.exit_code == 3, result.output
    assert "error" in result.output
    assert [p.name for p in out_dir.iterdir()] == ["registered.failed.json"]
    diagnosis = json.loads((out_dir / "registered.failed.json").read_text())
    assert diagnosis["status"] == "refused" and diagnosis["exit_code"] == 3 and diagnosis["refusals"]
    assert "geotransform" not in diagnosis


def test_output_onto_an_input_exits_2(tmp_path, small_reference, write_raster):
    sar, _ = _bad_sar("missing-band", tmp_path, write_raster)
    before = sar.read_bytes()
    result = _register(small_reference, sar, "-o", sar)
    assert result.exit_code == 2, result.output
    assert "overwrite an input" in " ".join(result.output.split())
    assert sar.read_bytes() == before


def test_usage_errors_exit_2(tmp_path, small_reference):
    result = _register(small_reference, small_reference, "-o", tmp_path / "x.tif", "--transform", "projective")
    assert result.exit_code == 2 and "affine, translation, polynomial2" in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ref.tif"]


def test_matchers_and_version():
    runner = CliRunner()
    listed = runner.invoke(app, ["matchers"])
    assert listed.exit_code == 0 and listed.stdout.startswith("cfog\t")
    version = runner.invoke(app, ["--version"])
    assert version.exit_code == 0 and version.stdout.strip() == f"sarlign {sarlign.__version__}"


def test_train_seed_option_overrides_the_configurations_seed(sarlign, shared_data, tmp_path):
    """`sarlign train learned-cfog --seed 3`: two steps on the real pairs, the exported weights' metadata
    records seed 3 (the configuration says 0)."""
    config = json.loads((REPO / "training" / "configs" / "learned_cfog.json").read_text())
    config.update(steps=2, batch=1, validate_every=2)
    config_file = tmp_path / "tiny.json"
    config_file.write_text(json.dumps(config))
    exported = tmp_path / "weights" / "tiny.pt"
    ran = sarlign("train", "learned-cfog", shared_data, "--config", config_file, "--seed", 3,
                  "--run-dir", tmp_path / "run", "--export", exported)
    assert ran.code == 0, ran.err
    metadata = json.loads(exported.with_suffix(".json").read_text())
    assert metadata["config"]["seed"] == 3 and metadata["config"]["steps"] == 2


def test_the_resampled_output_takes_a_target_grid_resampling_and_creation_options(sarlign, demo_pair, tmp_path):
    ran = sarlign("register", *demo_pair, "-o", tmp_path / "x.tif", "--resample", "--target-crs", "EPSG:4326",
                  "--target-resolution", "0.0001", "--resampling", "average", "--co", "compress=zstd", "--quiet")
    assert ran.code == 0, ran
    with rasterio.open(tmp_path / "x_resampled.tif") as resampled:
        assert resampled.crs.to_epsg() == 4326 and resampled.res == pytest.approx((0.0001, 0.0001))
        assert resampled.compression.name == "zstd" and resampled.dtypes[0] == "uint8"
    with rasterio.open(tmp_path / "x.tif") as output:
        assert output.compression.name == "zstd"
    item = json.loads((tmp_path / "x.stac.json").read_text())
    assert item["assets"]["resampled"]["proj:code"] == "EPSG:4326"
