"""Is there structure a global transform leaves behind? The diagnosis every report carries.

Two views of the inlier tie points (reference-grid pixels):

- the empirical semivariogram of the fit's residual vectors r: γ(h) = ½·mean |r_i − r_j|² over pairs
  whose distance falls in a lag bin around h. Independent errors give a flat γ (all *nugget*); residuals
  that bend with the terrain or the data's distortion grow with distance up to the *sill* (their total
  variance), reached at the *range*. The correlated share is 1 − nugget / sill.
- held-out errors of richer models (:mod:`sarlign.georef.model_selection`): whether a polynomial or a
  smooth local field predicts held-out tie points significantly better than the affine.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.spatial.distance import pdist

from sarlign.georef.model_selection import compare_models

LAG_BINS = 10  # up to half the largest distance between tie points
MAX_POINTS = 600  # a larger set is thinned (evenly, deterministically) for the diagnosis
SILL_SHARE = 0.95  # the range: the first lag whose semivariance reaches this share of the sill


def semivariogram(points: np.ndarray, residuals: np.ndarray) -> dict[str, Any]:
    """Lags (px), semivariances (px²) and pair counts of the residual vectors (N, 2) at ``points`` (N, 2),
    with the nugget, sill, range and correlated share read from them."""
    distances = pdist(points)
    halves = 0.5 * (pdist(residuals[:, :1], "sqeuclidean") + pdist(residuals[:, 1:], "sqeuclidean"))
    edges = np.linspace(0.0, distances.max() / 2, LAG_BINS + 1)
    which = np.digitize(distances, edges) - 1
    lags, gamma, counts = [], [], []
    for k in range(LAG_BINS):
        in_bin = which == k
        if in_bin.any():
            lags.append(float(distances[in_bin].mean()))
            gamma.append(float(halves[in_bin].mean()))
            counts.append(int(in_bin.sum()))
    sill = float(((residuals - residuals.mean(axis=0)) ** 2).sum(axis=1).mean())
    nugget = gamma[0] if gamma else math.nan
    reached = [lag for lag, g in zip(lags, gamma) if g >= SILL_SHARE * sill]
    return {
        "lags_px": lags,
        "semivariance_px2": gamma,
        "pairs": counts,
        "nugget_px2": nugget,
        "sill_px2": sill,
        "range_px": reached[0] if reached else None,
        "correlated_share": float(np.clip(1.0 - nugget / sill, 0.0, 1.0)) if sill > 0 else 0.0,
    }


def diagnose(
    src: np.ndarray,
    dst: np.ndarray,
    residuals: np.ndarray,
    fitted: str,
    weights: np.ndarray | None = None,
    footprint_px: float = 0.0,
) -> dict[str, Any]:
    """The report's ``structure``: the inliers' semivariogram, each model's held-out RMSE, the simplest
    model as good as the best, and a one-line ``hint`` when that is a richer model than the affine and
    not ``fitted``, the model the registration used; None otherwise. ``weights`` and ``footprint_px``:
    the tie points' relative noise variances and window side, for the local field (see
    :func:`sarlign.georef.model_selection.compare_models`)."""
    weights = np.ones(len(src)) if weights is None else weights
    if len(src) > MAX_POINTS:
        keep = np.linspace(0, len(src) - 1, MAX_POINTS).astype(int)
        src, dst, residuals, weights = src[keep], dst[keep], residuals[keep], weights[keep]
    variogram = semivariogram(dst, residuals)
    comparison = compare_models(src, dst, weights, footprint_px)
    rmse = comparison.held_out_rmse_px
    hint = None
    if comparison.chosen not in ("affine", fitted):
        extent = f" over about {variogram['range_px']:.0f} px" if variogram["range_px"] else ""
        hint = (f"the tie points bend{extent}: a {comparison.chosen} model predicts held-out tie points to "
                f"{rmse[comparison.chosen]:.2f} px against the affine's {rmse['affine']:.2f} px; one affine "
                "cannot follow this distortion (terrain, or the data's own)")
    return {
        "variogram": variogram,
        "held_out_rmse_px": rmse,
        "best": comparison.best,
        "simplest_as_good": comparison.chosen,
        "hint": hint,
    }
