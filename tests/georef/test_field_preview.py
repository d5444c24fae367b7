"""The field a fit adds beyond its affine, sampled on the reference grid for the quicklooks: the applied
field of a richer model, or the local field an affine fit's inliers would give."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from affine import Affine
from rasterio.crs import CRS
from shapely.geometry import MultiPoint, box

from sarlign.georef.field_preview import preview_model, sample_field
from sarlign.georef.fit import FitGates, TiePoints, fit_global

UTM = CRS.from_epsg(32633)
REF = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)
SHIFT = np.array([150.0, -90.0])  # reference pixels: far larger than a node spacing, so a wrong direction shows
GATES = FitGates(inlier_threshold_px=6.0, max_rmse_px=4.0)


def bump(points: np.ndarray) -> np.ndarray:
    """(N, 2) a 4 px bump, 150 px wide, at (350, 400) of a 1000² scene, pointing right and down."""
    weight = np.exp(-((points - [350, 400]) ** 2).sum(axis=1) / (2 * 150**2))
    return 4 * weight[:, None] * np.array([0.8, 0.6])


def _ties(with_bump: bool, count: int = 600, extent: float = 1000.0) -> TiePoints:
    """Tie points whose SAR-grid position maps to the reference by SHIFT, plus the bump where asked."""
    rng = np.random.default_rng(3)
    sar_grid = rng.uniform(0, extent, (count, 2))
    reference = sar_grid + SHIFT + (bump(sar_grid) if with_bump else 0) + rng.normal(0, 0.2, sar_grid.shape)
    tiles = np.array([f"r000c{i % 4:03d}" for i in range(count)], dtype=object)
    return TiePoints(reference, sar_grid, np.ones(count), tiles)


def _fit(ties: TiePoints, kind: str):
    return fit_global(ties, box(0, 0, 1000, 1000), REF, UTM, REF @ Affine.translation(*SHIFT), UTM, kind, GATES)


@pytest.mark.parametrize("kind", ["local", "affine"])
def test_the_preview_shows_the_bump_where_it_is_applied_or_where_a_local_field_would_add_it(kind):
    ties = _ties(with_bump=True)
    fit = _fit(ties, kind)
    model = preview_model(fit, ties)
    preview = sample_field(fit, model, (0, 0, 1000, 1000), 50)
    assert preview.applied == (kind == "local") and model.name == preview.model == "local"
    assert preview.vectors.shape == (50, 50, 2) and preview.step == 20
    # The strongest node, in reference pixels: where the bump sits on the SAR grid + SHIFT, within the
    # nodes' spacing and the tilt the affine takes out of the bump (a wrong direction would be 350 px off).
    centre = np.unravel_index(np.argmax(preview.magnitude), preview.magnitude.shape)
    peak_at = np.array([preview.x[centre[1]], preview.y[centre[0]]])
    assert np.linalg.norm(peak_at - ([350, 400] + SHIFT)) < 1.5 * preview.step
    # The hull, where the model is used, is the tie points' SAR-grid hull taken to the reference grid.
    sar_hull = np.array(MultiPoint(ties.sar_grid_xy).convex_hull.bounds)
    np.testing.assert_allclose(preview.support.bounds, sar_hull + np.tile(SHIFT, 2), atol=2.0)
    # Beyond the affine, which takes a share of the bump, the field shows most of the bump's direction.
    direction = preview.vectors[centre] / preview.magnitude[centre]
    assert direction @ [0.8, 0.6] > 0.95 and preview.magnitude[centre] > 2.0


def test_a_purely_affine_case_previews_a_field_of_noise_only_and_nothing_beyond_the_tie_points():
    ties = _ties(with_bump=False, extent=500.0)  # the tie points fill the top-left quarter
    fit = _fit(ties, "affine")
    preview = sample_field(fit, preview_model(fit, ties), (0, 0, 2000, 2000), 40)
    assert not preview.applied and np.sqrt(np.mean(preview.magnitude[preview.within_support()] ** 2)) < 0.15
    far = (preview.x[:, None] > 1500) & (preview.y[None, :] > 1500)
    np.testing.assert_array_equal(preview.magnitude[far.T], 0.0)  # beyond the fade: nothing


def test_too_few_inliers_give_no_local_field_to_preview():
    ties = _ties(with_bump=False, count=60, extent=120.0)
    fit = _fit(ties, "translation")
    few = np.zeros(len(ties), bool)
    few[:9] = True  # fewer than a field's three trend terms per axis leave anything to fit a field to
    assert preview_model(fit, ties) is not None and preview_model(dataclasses.replace(fit, inliers=few), ties) is None
