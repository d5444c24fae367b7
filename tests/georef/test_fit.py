"""The global fit: quality gates, the correction, and the SAR's new geotransform (same or other CRS)."""

import dataclasses
import math

import numpy as np
import pytest
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from shapely.geometry import box

from sarlign.coords import map_points
from sarlign.errors import FitRefusedError
from sarlign.georef.fit import FitGates, TiePoints, fit_global, new_sar_transform, residual_vectors_px
from sarlign.georef.robust import apply

UTM = CRS.from_epsg(32633)
GEO = CRS.from_epsg(4326)
REF = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)
OVERLAP_PX = box(0, 0, 1000, 1000)
TO_GEO = Transformer.from_crs(UTM, GEO, always_xy=True)
TO_UTM = Transformer.from_crs(GEO, UTM, always_xy=True)


def _ties(reference_xy, sar_grid_xy, score=None):
    n = len(reference_xy)
    return TiePoints(
        np.asarray(reference_xy, float),
        np.asarray(sar_grid_xy, float),
        np.ones(n) if score is None else score,
        np.array([f"r000c{i % 4:03d}" for i in range(n)], dtype=object),
    )


def _spread_points(n=100, seed=0, low=20, high=980):
    return np.random.default_rng(seed).uniform(low, high, (n, 2))


def _shifted_ties(dx=12.0, dy=-7.0, n=100, noise=0.0, seed=0):
    """Tie points of a SAR whose content appears displaced by (dx, dy) reference pixels."""
    reference_xy = _spread_points(n, seed)
    noise_xy = np.random.default_rng(seed + 1).normal(0, noise, reference_xy.shape) if noise else 0
    return _ties(reference_xy, reference_xy + [dx, dy] + noise_xy)


GATES = FitGates(inlier_threshold_px=3.0, min_inliers=20, max_rmse_px=2.0, min_spread=0.1, min_cells=3)


def _fit(ties, kind="affine", gates=GATES, sar_transform=None, sar_crs=UTM):
    sar_transform = REF @ Affine.translation(12, -7) if sar_transform is None else sar_transform
    return fit_global(ties, OVERLAP_PX, REF, UTM, sar_transform, sar_crs, kind, gates)


@pytest.mark.parametrize("kind", ["affine", "translation"])
def test_known_shift_gives_correction_and_new_geotransform(kind):
    """SAR georeferenced 12 px east / 7 px north of the truth: correction (−12, +7) px, geotransform restored."""
    fit = _fit(_shifted_ties(), kind)
    c = fit.correction
    assert c.shift_px == pytest.approx((-12.0, 7.0), abs=1e-6)
    assert c.shift_m == pytest.approx((-120.0, -70.0), abs=1e-5)
    assert c.rotation_deg == pytest.approx(0.0, abs=1e-7)
    assert c.scale == pytest.approx((1.0, 1.0), abs=1e-9)
    assert tuple(fit.new_transform)[:6] == pytest.approx(tuple(REF)[:6], abs=1e-6)
    q = fit.quality
    assert (q.tie_points, q.inliers, q.inlier_ratio) == (100, 100, 1.0)
    assert q.rmse_px == pytest.approx(0.0, abs=1e-6) and q.rmse_m == pytest.approx(0.0, abs=1e-5)
    assert q.check_rmse_px == pytest.approx(0.0, abs=1e-6)
    assert q.cells == 9 and 0.8 < q.spread <= 1.0
    assert fit.kind == kind and fit.refusals == []


def test_outliers_are_flagged_and_quality_counts_them():
    ties = _shifted_ties(noise=0.3)
    sar = ties.sar_grid_xy.copy()
    sar[::5] += 50  # 20 % gross errors
    fit = _fit(_ties(ties.reference_xy, sar))
    assert fit.quality.inliers == 80 and fit.quality.inlier_ratio == pytest.approx(0.8)
    assert not fit.inliers[::5].any()
    assert 0.2 < fit.quality.rmse_px < 0.6
    assert fit.residuals_px[::5].min() > 40
    assert fit.correction.shift_px == pytest.approx((-12.0, 7.0), abs=0.2)


def test_residual_vectors_are_prediction_minus_truth():
    """A gross error of +50 px in x where the SAR shows a point: the fit predicts it 50 px right of its truth."""
    ties = _shifted_ties()
    sar = ties.sar_grid_xy.copy()
    sar[::5, 0] += 50
    ties = _ties(ties.reference_xy, sar)
    fit = _fit(ties)
    vectors = residual_vectors_px(fit, ties)
    np.testing.assert_allclose(np.hypot(*vectors.T), fit.residuals_px, rtol=1e-12)
    np.testing.assert_allclose(vectors[::5], np.tile([50.0, 0.0], (20, 1)), atol=1e-6)
    np.testing.assert_allclose(vectors[1::5], 0.0, atol=1e-6)


def test_rotation_and_scale_reported_in_map_terms():
    """A map → map correction of +0.05° about the centre with scale 1.0002 is reported as such."""
    cx, cy = REF @ (500, 500)
    angle = math.radians(0.05)
    map_matrix = (
        Affine.translation(cx + 30, cy - 20)
        @ Affine.rotation(0.05)
        @ Affine.scale(1.0002)
        @ Affine.translation(-cx, -cy)
    )
    pixel = ~REF @ map_matrix @ REF  # sar_grid -> reference pixels
    sar_grid = _spread_points()
    reference = np.column_stack(pixel @ sar_grid.T)
    fit = _fit(_ties(reference, sar_grid))
    c = fit.correction
    assert c.rotation_deg == pytest.approx(math.degrees(angle), abs=1e-6)
    assert c.scale == pytest.approx((1.0002, 1.0002), abs=1e-7)
    assert c.shift_m == pytest.approx((30.0, -20.0), abs=1e-4)
    assert c.shift_px == pytest.approx((3.0, 2.0), abs=1e-5)
    assert tuple(c.matrix)[:6] == pytest.approx(tuple(map_matrix)[:6], rel=1e-9, abs=1e-4)


def test_too_few_points_refused():
    with pytest.raises(FitRefusedError, match="only 10 tie points"):
        _fit(_shifted_ties(n=10))


def test_clustered_points_refused_for_affine_but_not_translation():
    """60 points in one 80 × 80 px corner cannot constrain an affine; a translation is fine."""
    reference = _spread_points(60, 3, low=100, high=180)
    clustered = _ties(reference, reference + [12, -7])
    with pytest.raises(FitRefusedError, match="clustered") as info:
        _fit(clustered, "affine")
    assert info.value.exit_code == 3
    fit = _fit(clustered, "translation")
    assert fit.correction.shift_px == pytest.approx((-12.0, 7.0), abs=1e-6)
    assert fit.quality.cells == 1 and fit.quality.spread < 0.01


def test_high_rmse_refused():
    """Inliers with 3 px noise (threshold widened to 20 px) fail the 2-px RMSE gate."""
    gates = FitGates(inlier_threshold_px=20.0, max_rmse_px=2.0)
    with pytest.raises(FitRefusedError, match="RMSE") as info:
        _fit(_shifted_ties(noise=3.0), "affine", gates)
    assert "held-out RMSE" in str(info.value)
    # The same noise passes a 6-px gate.
    assert _fit(_shifted_ties(noise=3.0), "affine", FitGates(inlier_threshold_px=20.0, max_rmse_px=6.0))


def test_refusal_message_lists_every_failed_gate():
    reference = _spread_points(60, 3, low=100, high=180)
    sar = reference + [12, -7] + np.random.default_rng(0).normal(0, 3, reference.shape)
    with pytest.raises(FitRefusedError) as info:
        _fit(_ties(reference, sar), "affine", FitGates(inlier_threshold_px=20.0, max_rmse_px=2.0))
    message = str(info.value)
    assert "RMSE" in message and "clustered" in message


def _geo_case(dlon=0.0012, dlat=-0.0007):
    """A SAR grid in EPSG:4326 over the reference area, georeferenced (dlon, dlat) off the truth."""
    lon0, lat0 = TO_GEO.transform(*(REF @ (-50, -50)))
    true = Affine(1.2e-4, 0.0, lon0, 0.0, -0.9e-4, lat0)
    current = Affine.translation(dlon, dlat) @ true
    reference_xy = _spread_points(80, 9)
    lon, lat = TO_GEO.transform(*(REF @ reference_xy.T))
    q = np.column_stack(~true @ (lon, lat))  # SAR pixels of the features
    lon_seen, lat_seen = current @ q.T
    sar_grid_xy = np.column_stack(~REF @ TO_UTM.transform(lon_seen, lat_seen))
    return true, current, reference_xy, sar_grid_xy


def _sar_pixel_error(new: Affine, true: Affine) -> float:
    """Largest disagreement (SAR pixels) between two SAR geotransforms over the SAR grid."""
    q = np.column_stack([g.ravel() for g in np.meshgrid(np.linspace(0, 1300, 6), np.linspace(0, 1300, 6))])
    back = np.column_stack(~true @ (new @ q.T))
    return float(np.abs(back - q).max())


def test_new_sar_transform_for_sar_in_other_crs_affine():
    """SAR in EPSG:4326, reference in UTM 33N: the fitted geotransform agrees with the truth within 0.05 px."""
    true, current, reference_xy, sar_grid_xy = _geo_case()
    new = new_sar_transform(sar_grid_xy, reference_xy, REF, UTM, current, GEO, "affine")
    assert _sar_pixel_error(new, true) < 0.05
    assert _sar_pixel_error(current, true) > 5  # the input really was off


def test_new_sar_transform_for_sar_in_other_crs_translation():
    """Translation kind: the linear part is kept, only the offset moves (to the truth)."""
    true, current, reference_xy, sar_grid_xy = _geo_case()
    new = new_sar_transform(sar_grid_xy, reference_xy, REF, UTM, current, GEO, "translation")
    assert (new.a, new.b, new.d, new.e) == (current.a, current.b, current.d, current.e)
    assert _sar_pixel_error(new, true) < 0.05


def test_fit_global_with_sar_in_other_crs():
    true, current, reference_xy, sar_grid_xy = _geo_case()
    fit = _fit(_ties(reference_xy, sar_grid_xy), "affine", sar_transform=current, sar_crs=GEO)
    assert _sar_pixel_error(fit.new_transform, true) < 0.05
    # The pixel model itself maps seen positions to true ones.
    np.testing.assert_allclose(apply(fit.model, sar_grid_xy), reference_xy, atol=0.05)


def _warped_ties(angle_deg=0.0, scale=1.0, shift=(0.0, 0.0), n=100):
    """Tie points of a SAR whose content is turned by ``angle_deg`` and scaled about (500, 500), then shifted."""
    about_centre = Affine.translation(500, 500) @ Affine.rotation(angle_deg) @ Affine.scale(scale) @ Affine.translation(-500, -500)
    reference_xy = _spread_points(n)
    return _ties(reference_xy, map_points(Affine.translation(*shift) @ about_centre, reference_xy))


@pytest.mark.parametrize(
    ("ties", "gate"),
    [(lambda: _warped_ties(angle_deg=1.5), "--max-rotation"), (lambda: _warped_ties(scale=1.03), "--max-scale-change")],
)
def test_a_rotation_or_scale_no_north_up_product_has_is_refused(ties, gate):
    with pytest.raises(FitRefusedError, match=gate) as info:
        _fit(ties(), "affine", FitGates())
    assert "--transform translation" in str(info.value)
    assert info.value.diagnosis["refusals"] and info.value.diagnosis["gates"]["max_rotation_deg"] == 1.0


def test_a_small_rotation_and_scale_pass_and_wider_gates_let_larger_ones_through():
    assert _fit(_warped_ties(angle_deg=0.3, scale=1.005), "affine", FitGates())
    assert _fit(_warped_ties(angle_deg=1.5, scale=1.025), "affine", FitGates(max_rotation_deg=2, max_scale_change=0.03))


def test_a_correction_beyond_the_searched_shift_is_refused_with_a_larger_one_suggested():
    gates = dataclasses.replace(GATES, max_shift_px=10)
    assert _fit(_shifted_ties(8.0, -7.0), "translation", gates)
    with pytest.raises(FitRefusedError, match="beyond the --max-shift 10 px searched") as info:
        _fit(_shifted_ties(12.0, -7.0), "translation", gates)
    assert "--max-shift 30" in str(info.value)  # twice the 12 px found, rounded up to tens
