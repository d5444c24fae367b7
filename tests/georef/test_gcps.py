"""The GCP grid that carries a richer model reproduces it through GDAL's own transformers."""

from __future__ import annotations

import dataclasses

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import GCPTransformer

from sarlign.coords import map_points
from sarlign.georef.gcps import GCP_GRID, MAX_GCP_GRID, field_gcps, gcp_nodes
from sarlign.georef.robust import apply
from sarlign.georef.smooth_models import fit_local, fit_supported_polynomial

REFERENCE = Affine(10, 0, 500_000, 0, -10, 5_000_000)  # EPSG:32633, 10 m
SAR = REFERENCE @ Affine.translation(7, -4)  # the SAR's own grid, on the reference's, moved


def _ties(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    src = rng.uniform(0, 1000, (400, 2))
    bump = 5 * np.exp(-((src - [400, 500]) ** 2).sum(axis=1) / (2 * 150**2))
    return src, apply(np.array([[1.001, 0.0, -7.0], [0.0, 0.999, 4.0]]), src) + np.column_stack([bump, -bump])


def _through_gdal(gcps, points: np.ndarray, tps: bool) -> np.ndarray:
    with GCPTransformer(gcps, tps=tps) as transformer:
        x, y = transformer.xy(points[:, 1], points[:, 0], offset="ul")
    return map_points(~REFERENCE, np.column_stack([x, y]))


def test_a_local_model_s_gcp_grid_reproduces_it_through_gdals_thin_plate_spline():
    model = fit_local(*_ties())
    gcps = field_gcps(lambda p: map_points(SAR, p), CRS.from_epsg(32633), (1000, 1000), model, REFERENCE, CRS.from_epsg(32633))
    sar_pixels = np.random.default_rng(1).uniform(50, 950, (300, 2))
    expected = model(map_points(~REFERENCE, map_points(SAR, sar_pixels)))  # SAR pixel → SAR grid → model
    error = np.linalg.norm(_through_gdal(gcps, sar_pixels, tps=True) - expected, axis=1)
    assert error.max() < 0.05, error.max()


def test_a_short_local_field_over_a_whole_scene_gets_a_denser_grid_within_what_gdal_solves_quickly():
    model = fit_local(*_ties())
    assert gcp_nodes(model, 1000.0) == GCP_GRID
    short = dataclasses.replace(model, covariance=dataclasses.replace(model.covariance, range_px=537.0))
    assert gcp_nodes(short, 10980.0) == MAX_GCP_GRID  # 42 wanted: 274 px, half the range
    assert gcp_nodes(fit_supported_polynomial(*_ties(), order=2), 10980.0) == GCP_GRID


def test_a_polynomial_model_s_gcp_grid_reproduces_it_with_its_fade_through_the_spline_too():
    model = fit_supported_polynomial(*_ties(), order=2)
    gcps = field_gcps(lambda p: map_points(SAR, p), CRS.from_epsg(32633), (1500, 1500), model, REFERENCE, CRS.from_epsg(32633))
    sar_pixels = np.random.default_rng(2).uniform(0, 1500, (300, 2))  # inside the tie points' hull and beyond
    expected = model(map_points(~REFERENCE, map_points(SAR, sar_pixels)))
    assert np.linalg.norm(_through_gdal(gcps, sar_pixels, tps=True) - expected, axis=1).max() < 0.2
