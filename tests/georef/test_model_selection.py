"""Spatially blocked held-out errors, and the simplest model as good as the best."""

from __future__ import annotations

import numpy as np

from sarlign.georef.cross_validation import blocked_folds
from sarlign.georef.model_selection import compare_models
from sarlign.georef.robust import apply

AFFINE = np.array([[1.002, 0.001, 12.0], [-0.0015, 0.998, -7.0]])


def _points(seed: int = 0, n: int = 400) -> np.ndarray:
    return np.random.default_rng(seed).uniform(0, 1000, (n, 2))


def test_blocked_folds_hold_each_point_out_once_and_neighbours_together():
    points = _points()
    folds = blocked_folds(points)
    assert sorted(np.concatenate(folds).tolist()) == list(range(len(points)))
    low, high = points.min(axis=0), points.max(axis=0)
    cell_of = np.clip(((points - low) / (high - low) * 4).astype(int), 0, 3)  # the 4 × 4 cells of the box
    cells = [set(map(tuple, cell_of[f].tolist())) for f in folds]
    assert all(a.isdisjoint(b) for i, a in enumerate(cells) for b in cells[i + 1 :])  # a cell is in one fold


def test_an_affine_case_chooses_the_affine():
    src = _points()
    dst = apply(AFFINE, src) + np.random.default_rng(1).normal(0, 0.3, src.shape)
    assert compare_models(src, dst).chosen == "affine"


def test_a_bending_case_chooses_a_richer_model_that_predicts_better():
    src = _points()
    bend = np.column_stack([3 * np.sin(src[:, 1] / 160), 2 * np.cos(src[:, 0] / 200)])
    dst = apply(AFFINE, src) + bend + np.random.default_rng(1).normal(0, 0.3, src.shape)
    comparison = compare_models(src, dst)
    assert comparison.chosen != "affine"
    assert comparison.held_out_rmse_px[comparison.chosen] < 0.6 * comparison.held_out_rmse_px["affine"]
