"""The diagnosis of structure a global fit leaves: semivariogram and the models' held-out errors."""

from __future__ import annotations

import numpy as np

from sarlign.georef.residual_structure import diagnose, semivariogram


def test_independent_errors_are_nugget_and_a_smooth_field_is_correlated():
    rng = np.random.default_rng(0)
    points = rng.uniform(0, 1000, (400, 2))
    noise = semivariogram(points, rng.normal(0, 0.5, points.shape))
    field = semivariogram(points, np.column_stack([2 * np.sin(points[:, 1] / 150), np.cos(points[:, 0] / 200)]))
    assert noise["correlated_share"] < 0.2 and noise["range_px"] is not None and noise["range_px"] < 100
    assert field["correlated_share"] > 0.8 and field["range_px"] > 150


def test_the_diagnosis_hints_only_where_a_richer_model_predicts_better():
    rng = np.random.default_rng(1)
    src = rng.uniform(0, 1000, (400, 2))
    flat = src + 5 + rng.normal(0, 0.3, src.shape)
    assert diagnose(src, flat, flat - src - 5, "affine")["hint"] is None
    bent = flat + np.column_stack([3 * np.sin(src[:, 1] / 160), 2 * np.cos(src[:, 0] / 200)])
    found = diagnose(src, bent, bent - src - 5, "affine")
    assert found["hint"] is not None and "held-out" in found["hint"] and found["simplest_as_good"] != "affine"
