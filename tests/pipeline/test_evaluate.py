"""``sarlign eval`` figures: summarise on a hand-built result, and the evaluation loops with a stand-in registration."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import rasterio
import xarray as xr
from affine import Affine

from sarlign.errors import FitRefusedError
from sarlign.georef.robust import fit_least_squares
from sarlign.pipeline import evaluate
from sarlign.pipeline.evaluate import evaluate_checkpoints, evaluate_pairs, summarise
from sarlign.pipeline.options import RegisterOptions

NAN = (np.nan, np.nan)


def results_dataset() -> xr.Dataset:
    """Three pairs × (T, A, X) × 25 windows, residuals chosen so every figure can be worked out by hand.

    p1: T (0.1, 0) everywhere; A window 0 missing, windows 1–12 (0.3, 0), 13–24 (0, 0.1); X (0.1, 0.3).
    p2: T (3, 4); A (3.36, 4.48); X (3, 4).
    p3: T (−1, 0); A refused (all NaN); X (−1, 0) with windows 0–4 missing.
    """
    r = np.zeros((3, 3, 25, 2))
    r[0, 0] = (0.1, 0.0)
    r[0, 1, 0] = NAN
    r[0, 1, 1:13] = (0.3, 0.0)
    r[0, 1, 13:] = (0.0, 0.1)
    r[0, 2] = (0.1, 0.3)
    r[1, 0] = (3.0, 4.0)
    r[1, 1] = (3.36, 4.48)
    r[1, 2] = (3.0, 4.0)
    r[2, 0] = (-1.0, 0.0)
    r[2, 1] = NAN
    r[2, 2] = (-1.0, 0.0)
    r[2, 2, :5] = NAN
    refused = np.zeros((3, 3), bool)
    refused[2, 1] = True
    inliers = np.array([[10, 20, 30], [40, 50, 60], [70, 0, 90]])
    tie_points = np.array([[20, 40, 60], [80, 100, 120], [140, 0, 180]])
    seconds = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, np.nan, 8.0]])
    model = np.array([["affine"] * 3, ["local", "polynomial2", "local"], ["affine", "", "affine"]], dtype=object)
    return xr.Dataset(
        {
            "residual": (("pair", "case", "window", "axis"), r),
            "refused": (("pair", "case"), refused),
            "model": (("pair", "case"), model),
            "inliers": (("pair", "case"), inliers),
            "tie_points": (("pair", "case"), tie_points),
            "seconds": (("pair", "case"), seconds),
        },
        coords={"pair": ["p1", "p2", "p3"], "case": ["T", "A", "X"], "axis": ["x", "y"]},
    )


@pytest.fixture(scope="module")
def summary():
    return summarise(results_dataset())


def test_summary_counts(summary):
    assert (summary["pairs"], summary["cases"], summary["refused"]) == (3, 9, 1)


def test_rmse_is_root_mean_square_length_over_windows_with_data(summary):
    """Per case √(mean over windows of dx² + dy²), missing windows left out; a refused case is NaN."""
    rmse = summary["rmse_px"]
    assert list(rmse) == [f"{p}/{c}" for p in ("p1", "p2", "p3") for c in ("T", "A", "X")]
    expected = {"p1/T": 0.1, "p1/A": np.sqrt(0.05), "p1/X": np.sqrt(0.1),  # p1/A: not the mean length 0.2
                "p2/T": 5.0, "p2/A": 5.6, "p2/X": 5.0, "p3/T": 1.0, "p3/X": 1.0}
    for key, value in expected.items():
        assert rmse[key] == pytest.approx(value, abs=1e-3), key
    assert np.isnan(rmse["p3/A"])


def test_spread_is_largest_rms_difference_between_two_cases(summary):
    """p1: max(0.173, 0.3, 0.3) = 0.3; p2: max(0.6, 0, 0.6) = 0.6; p3 has a refused case: NaN."""
    spread = summary["spread_px"]
    assert spread["p1"] == pytest.approx(0.3, abs=1e-3)
    assert spread["p2"] == pytest.approx(0.6, abs=1e-3)
    assert np.isnan(spread["p3"])


def test_spread_shares_count_a_refused_pair_as_failing(summary):
    """Of 3 pairs, 2 are under 1 px and 1 under 0.5 px; the NaN pair is in neither."""
    assert summary["share_spread_under_1px"] == pytest.approx(2 / 3)
    assert summary["share_spread_under_0.5px"] == pytest.approx(1 / 3)


def test_share_within_is_inclusive_and_a_refused_case_is_outside_every_threshold(summary):
    """RMSEs 0.1, 0.22, 0.32, 1, 1, 5, 5, 5.6 and one refused: ≤1 → 5/9, ≤2 → 5/9, ≤5 → 7/9, ≤8 → 8/9."""
    assert summary["share_within"] == pytest.approx({"1px": 5 / 9, "2px": 5 / 9, "5px": 7 / 9, "8px": 8 / 9})
    assert summary["median_rmse_px"] == pytest.approx(1.0)
    assert summary["max_rmse_px"] == np.inf  # the refused case ranks above every finite RMSE


def test_bias_is_the_mean_signed_residual_over_all_windows_with_data(summary):
    """Pooled over the 194 windows with data: Σdx = 197.6, Σdy = 320.7."""
    bx, by = 197.6 / 194, 320.7 / 194
    assert summary["bias_px"] == pytest.approx([round(bx, 3), round(by, 3)])
    assert summary["bias_norm_px"] == pytest.approx(np.hypot(bx, by))


def test_each_case_names_the_model_fitted_and_a_refused_case_none(summary):
    assert summary["models"]["p2/A"] == "polynomial2" and summary["models"]["p2/X"] == "local"
    assert summary["models"]["p3/A"] == "" and list(summary["models"]) == list(summary["rmse_px"])


def test_inlier_and_timing_figures(summary):
    """Inliers per case over all 9 cases; inlier ratio = Σ inliers / Σ tie points; seconds skip the refused case."""
    assert summary["inliers_per_case"] == pytest.approx(370 / 9)
    assert summary["inlier_ratio"] == pytest.approx(370 / 740)
    assert summary["seconds_per_case"] == pytest.approx(36 / 8)


# --- evaluate_pairs / evaluate_checkpoints with a stand-in for register_pair -----------------------


def test_evaluate_pairs_assembles_residuals_refusals_and_progress(shared_data, shared_file, tmp_path, monkeypatch):
    """On pair 020: T 'registered' as-is shows its shift, A refused, X replaced by the original shows 0."""
    shared_file("pairs/volkov_s1s2/volkov_metadata.json")
    real_load_pairs = evaluate.load_pairs
    monkeypatch.setattr(evaluate, "load_pairs", lambda folder: real_load_pairs(folder)[:1])
    calls = []

    def fake_register(optical, sar, output, options, client, overwrite=False):
        sar = Path(sar)
        calls.append((Path(optical).name, sar.name, Path(output).name, overwrite))
        case = sar.stem[-1]
        if case == "A":
            raise FitRefusedError("not trustworthy")
        source = sar if case == "T" else sar.with_name("volkov_020_sar.tif")
        shutil.copyfile(source, output)
        return {"quality": {"inliers": 40, "tie_points": 50}, "timings": {"total_s": 1.5}, "transform": "affine"}

    monkeypatch.setattr(evaluate, "register_pair", fake_register)
    progress = []
    results = evaluate_pairs(shared_data, tmp_path, None, RegisterOptions(), seed=0,
                             progress=lambda done, total: progress.append((done, total)))

    assert dict(results.sizes) == {"pair": 1, "case": 3, "window": 25, "axis": 2}
    assert results["pair"].values.tolist() == ["020"] and results["case"].values.tolist() == ["T", "A", "X"]
    assert progress == [(1, 3), (2, 3), (3, 3)]
    assert calls == [("volkov_020_opt.tif", f"volkov_020_sar_{c}.tif", f"registered_{c}.tif", True) for c in "TAX"]

    folder = tmp_path / "020"
    with rasterio.open(folder / "volkov_020_sar.tif") as original, rasterio.open(folder / "volkov_020_sar_T.tif") as t:
        shift = (~original.transform @ t.transform).c, (~original.transform @ t.transform).f
    residual = results["residual"].sel(pair="020")
    np.testing.assert_allclose(residual.sel(case="T").values, np.tile(shift, (25, 1)), atol=0.3)
    np.testing.assert_allclose(residual.sel(case="X").values, 0.0, atol=1e-6)
    assert np.isnan(residual.sel(case="A").values).all()
    assert results["refused"].values.tolist() == [[False, True, False]]
    assert results["inliers"].values.tolist() == [[40, 0, 40]]
    assert results["tie_points"].values.tolist() == [[50, 0, 50]]
    np.testing.assert_array_equal(results["seconds"].values, [[1.5, np.nan, 1.5]])
    assert results["model"].values.tolist() == [["affine", "", "affine"]]

    summary = summarise(results)
    assert summary["refused"] == 1 and np.isnan(summary["spread_px"]["020"])
    assert summary["share_within"]["1px"] == pytest.approx(1 / 3)  # only X


def test_evaluate_checkpoints_reports_rmse_before_and_after(shared_data, shared_file, tmp_path, monkeypatch):
    """With a registration returning the check-point affine, RMSE goes from ≈ 1.79 to ≈ 0.8 px."""
    folder = shared_file("geotiff/cfog/cfog_rosenheim_cp.pts").parent
    points = np.loadtxt(folder / "cfog_rosenheim_cp.pts")
    with rasterio.open(folder / "cfog_rosenheim_opt.tif") as ref:
        reference = ref.transform
    centres = points + 0.5
    model = fit_least_squares(centres[:, 2:], centres[:, :2], "affine")
    fitted = reference @ Affine(*model[0], *model[1])

    def fake_register(optical, sar, output, options, client, overwrite=False):
        assert Path(sar).name == "cfog_rosenheim_sar.tif" and overwrite
        return {"geotransform": {"new": list(fitted.to_gdal())}, "quality": {"inliers": 99},
                "correction": {"shift_px": [0.5, -0.25]}, "transform": "affine"}

    monkeypatch.setattr(evaluate, "register_pair", fake_register)
    report = evaluate_checkpoints(shared_data, tmp_path, None, RegisterOptions())
    assert report["check_points"] == 164
    assert report["rmse_before_px"] == pytest.approx(1.79, abs=0.02)
    assert 0.75 < report["rmse_after_px"] < 0.85
    assert report["inliers"] == 99 and report["correction_px"] == [0.5, -0.25] and report["model"] == "affine"
