"""Non-rigid distortion on real pixels: the demo SAR matched against itself moved by a known shift (an
affine case) or bent by a known smooth field (a non-rigid one) — the report's diagnosis, and the richer
transforms that follow the field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from scipy.ndimage import map_coordinates

from sarlign.pipeline.eval_measure import window_residuals
from sarlign.pipeline.evaluate import VOLKOV
from sarlign.pipeline.known_fields import bent_copy, random_field
from sarlign.training.volkov import load_pairs, write_geotiffs

SAMPLE_SAR = Path(__file__).resolve().parents[2] / "data" / "sample" / "s1_aligned.tif"
FIELDS = {  # displacement (px) of the moved SAR's pixel (x, y) from where the original shows it
    "shifted": lambda x, y: (np.full_like(x, 3.4), np.full_like(y, -2.2)),
    "bent": lambda x, y: (3.4 + 6 * np.exp(-((x - 250) ** 2 + (y - 250) ** 2) / (2 * 120**2)),
                          -2.2 - 6 * np.exp(-((x - 520) ** 2 + (y - 500) ** 2) / (2 * 120**2))),
}


def _warped_copy(source, destination, displacement_px):
    """``source`` resampled so that its pixel (x, y) shows what ``source`` shows at (x, y) + d(x, y)."""
    with rasterio.open(source) as src:
        profile, image = src.profile, src.read(1).astype(np.float32)
    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(np.float32)
    dx, dy = displacement_px(cols, rows)
    warped = map_coordinates(image, [rows + dy, cols + dx], order=1, mode="nearest")
    with rasterio.open(destination, "w", **profile) as dst:
        dst.write(np.clip(np.round(warped), 0, 255).astype(profile["dtype"]), 1)
    return destination


def test_real_pixels_moved_by_a_shift_or_bent_by_a_smooth_field(sarlign, tmp_path):
    """The demo SAR matched against itself moved by 3.4, −2.2 px everywhere (an affine case), then bent by
    two bumps of 4 px (a non-rigid one): only the second report says a richer model would help."""
    reports = {}
    for name, field in FIELDS.items():
        moved = _warped_copy(SAMPLE_SAR, tmp_path / f"{name}.tif", field)
        ran = sarlign("register", SAMPLE_SAR, moved, "-o", tmp_path / f"{name}_out.tif", "--json", "--quiet")
        assert ran.code == 0, ran
        reports[name] = json.loads((tmp_path / f"{name}_out.json").read_text())["structure"]
    assert reports["shifted"]["hint"] is None and reports["shifted"]["simplest_as_good"] == "affine"
    bent = reports["bent"]
    assert bent["hint"] is not None and bent["simplest_as_good"] != "affine"
    assert bent["held_out_rmse_px"][bent["simplest_as_good"]] < 0.7 * bent["held_out_rmse_px"]["affine"]


def _window_rms(resampled, original) -> float:
    """RMS (px) of the residual shifts in 5 × 5 windows of 128² between two images on one grid."""
    with rasterio.open(resampled) as out, rasterio.open(original) as src:
        moved, truth = out.read(1).astype(float), src.read(1).astype(float)
    moved[moved == 0] = np.nan  # no data beyond the warped SAR's edge
    residuals = window_residuals(moved, truth)
    return float(np.sqrt(np.nanmean((residuals**2).sum(axis=1))))


def test_a_local_transform_follows_a_known_smooth_field_where_the_affine_cannot(sarlign, tmp_path):
    """Bumps of 6 px: the affine leaves over 1.5 px in the windows, the local field under 0.5 px (the issue's
    synthetic target), through the GCP grid and the resampled output; auto chooses the local field."""
    bent = _warped_copy(SAMPLE_SAR, tmp_path / "bent.tif", FIELDS["bent"])
    rms, reports = {}, {}
    for kind in ("affine", "local", "auto"):
        out = tmp_path / f"{kind}.tif"
        quicklook = ["--quicklook"] if kind == "local" else []  # read through the GCP grid's spline too
        ran = sarlign("register", SAMPLE_SAR, bent, "-o", out, "--transform", kind, "--resample", "--json", "--quiet",
                      *quicklook)
        assert ran.code == 0, ran
        reports[kind], rms[kind] = ran.json(), _window_rms(tmp_path / f"{kind}_resampled.tif", SAMPLE_SAR)
    assert rms["affine"] > 1.5 and rms["local"] < 0.5, rms
    local = reports["local"]
    assert local["transform"] == "local" and local["geotransform"]["new"] is None
    assert len(local["geotransform"]["gcps"]["new"]) == 33 * 33 and "thin-plate" in local["geotransform"]["gcp_transformer"]
    with rasterio.open(tmp_path / "local.tif") as output:
        assert len(output.gcps[0]) == 33 * 33 and output.gcps[1].to_epsg() == 3395  # the reference CRS
    assert reports["auto"]["transform"] == "local" and reports["auto"]["transform_selection"]["chosen"] == "local"
    assert all((tmp_path / f"local_{name}.png").stat().st_size > 10_000 for name in ("checkerboard", "field"))
    _check_displacement_product(tmp_path / "local_displacement.tif", local)


def _check_displacement_product(path: Path, report: dict) -> None:
    """The displacement COG: dx, dy (metres east, north) where the bent SAR's content truly lies, minus
    where it shows it: the known field's opposite, within the field's own error; sigma small among the tie
    points; its figures the report's."""
    with rasterio.open(path) as product:
        assert product.descriptions == ("dx", "dy", "sigma") and product.crs.to_epsg() == 3395
        values, transform = product.read(), product.transform
    rows, cols = np.nonzero(np.isfinite(values[0]))
    x, y = transform @ (cols + 0.5, rows + 0.5)  # node centres, map units
    pixel = np.array([transform.a, -transform.e]) / report["field"]["grid_step_px"]  # metres per SAR pixel
    sar_x, sar_y = (x - transform.c) / pixel[0], (transform.f - y) / pixel[1]
    known_dx, known_dy = FIELDS["bent"](sar_x, sar_y)
    # The SAR at (x, y) shows what truly lies at (x, y) + d: a correction of +d px, north up for dy.
    error = np.hypot(values[0][rows, cols] / pixel[0] - known_dx, -values[1][rows, cols] / pixel[1] - known_dy)
    assert np.median(error) < 0.3 and len(error) > 1000, (np.median(error), len(error))
    sigma = values[2][rows, cols]
    assert report["field"]["sigma_median"] == pytest.approx(float(np.median(sigma)), rel=1e-5)
    assert report["field"]["displacement_max"] == pytest.approx(float(np.hypot(values[0], values[1])[rows, cols].max()), rel=1e-5)
    assert np.median(sigma) / pixel[0] < 0.3


def test_auto_keeps_the_affine_and_its_geotransform_where_the_data_are_affine(sarlign, tmp_path):
    shifted = _warped_copy(SAMPLE_SAR, tmp_path / "shifted.tif", FIELDS["shifted"])
    ran = sarlign("register", SAMPLE_SAR, shifted, "-o", tmp_path / "x.tif", "--transform", "auto", "--json", "--quiet")
    assert ran.code == 0, ran
    report = ran.json()
    assert report["transform"] == "affine" and report["transform_selection"]["chosen"] == "affine"
    assert report["geotransform"]["new"] is not None


def test_a_real_pair_bent_by_a_field_is_not_refused_as_a_rotation_and_the_field_is_followed(sarlign, shared_data, tmp_path):
    """Volkov 030 (real Sentinel-1/2), bent by the benchmark's random field 1 (3 bumps of 2-5 px per
    axis): its affine turns by more than the 1° gate, which the local field's trend does not; the local
    registration of the bent SAR lands within 0.6 px of the unbent one's in the middle of most windows."""
    pair = next(p for p in load_pairs(shared_data / VOLKOV) if p.pair_id == "030")
    reference, sar = write_geotiffs(pair, tmp_path)
    bent = bent_copy(sar, tmp_path / "bent.tif", random_field((1024, 1024), np.random.default_rng([30, 1])))
    affine = sarlign("register", reference, bent, "-o", tmp_path / "affine.tif", "--quiet")
    assert affine.code == 3 and "--max-rotation" in affine.flat_stderr, affine
    for name, source in (("plain", sar), ("bent", bent)):
        ran = sarlign("register", reference, source, "-o", tmp_path / f"{name}_out.tif", "--transform", "local",
                      "--resample", "--json", "--quiet")
        assert ran.code == 0, ran
    with rasterio.open(tmp_path / "bent_out_resampled.tif") as out, rasterio.open(tmp_path / "plain_out_resampled.tif") as ref:
        residuals = window_residuals(out.read(1).astype(float), ref.read(1).astype(float))
    lengths = np.linalg.norm(residuals[np.isfinite(residuals).all(axis=1)], axis=1)
    assert len(lengths) >= 20 and np.median(lengths) < 0.6, lengths
