"""Which model the tie points support: affine, a global polynomial, or a smooth local field.

Each candidate is fitted with its folds held out (:mod:`sarlign.georef.cross_validation`); the held-out
errors are compared point by point. The choice is the simplest model (in ``CANDIDATES`` order) that is not
significantly worse than the best: its held-out RMSE is within ``MARGIN_PX`` of the best's (closer than
that is no difference a registration would show), or the mean of its squared held-out errors minus the
best's stays within ``SIGNIFICANCE`` standard errors of that paired difference.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sarlign.georef.cross_validation import Fitter, blocked_folds, held_out_errors
from sarlign.georef.kriging import fit_covariance
from sarlign.georef.robust import ModelKind, apply, fit_least_squares
from sarlign.georef.smooth_models import fit_local, fit_supported_polynomial, local_refitter


def least_squares(kind: ModelKind) -> Fitter:
    """A fitter of the least-squares ``kind`` ("affine" or "translation") as a model (N, 2) → (N, 2)."""
    return lambda src, dst, _weights: (lambda points, m=fit_least_squares(src, dst, kind): apply(m, points))


SIGNIFICANCE = 2.0  # standard errors of the paired difference (one-sided, about 98 %)
MARGIN_PX = 0.1
CANDIDATES: dict[str, Fitter] = {
    "affine": least_squares("affine"),
    "polynomial2": lambda src, dst, _weights: fit_supported_polynomial(src, dst, 2),
    "polynomial3": lambda src, dst, _weights: fit_supported_polynomial(src, dst, 3),
    "local": fit_local,
}


@dataclass(frozen=True)
class Comparison:
    """Held-out RMSE (px) of each candidate, the best one, and the simplest as good as the best."""

    held_out_rmse_px: dict[str, float]
    best: str
    chosen: str


def compare_models(
    src: np.ndarray, dst: np.ndarray, weights: np.ndarray | None = None, footprint_px: float = 0.0
) -> Comparison:
    """Compare ``CANDIDATES`` on the (N, 2) tie points ``src → dst`` (reference pixels) with relative noise
    variances ``weights`` (N,; None: all 1), measured in windows of ``footprint_px``. The local field's
    covariance is fitted once, to all the points, and kept for the folds (a likelihood search per fold
    would cost more than the comparison is worth)."""
    weights = np.ones(len(src)) if weights is None else weights
    folds = blocked_folds(src)
    fitters = dict(CANDIDATES)
    try:
        fitters["local"] = local_refitter(fit_covariance(src, dst - src, weights, footprint_px))
    except ValueError:  # too few points: the local candidate's folds fail alike
        pass
    errors = {name: held_out_errors(src, dst, fit, folds, weights) for name, fit in fitters.items()}
    usable = {name: e for name, e in errors.items() if not np.isnan(e).any()}
    rmse = {name: float(np.sqrt(np.mean(e**2))) if name in usable else math.nan for name, e in errors.items()}
    best = min(usable, key=lambda name: rmse[name])
    chosen = next(name for name in usable if rmse[name] <= rmse[best] + MARGIN_PX or _as_good(usable[name], usable[best]))
    return Comparison(rmse, best, chosen)


def _as_good(candidate: np.ndarray, best: np.ndarray) -> bool:
    """Whether ``candidate``'s squared held-out errors are not significantly above ``best``'s."""
    difference = candidate**2 - best**2
    standard_error = difference.std(ddof=1) / math.sqrt(len(difference)) if len(difference) > 1 else 0.0
    return difference.mean() <= SIGNIFICANCE * standard_error
