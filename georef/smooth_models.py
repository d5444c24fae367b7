"""Models richer than one affine, fitted to tie points: global polynomials and a smooth local field.

Every model maps (N, 2) points ``src`` → (N, 2) ``dst``, both in reference-grid pixels (x right, y down,
pixel corners at integers), as the global affine does (``sar_grid_xy → reference_xy``, see
:mod:`sarlign.georef.fit`).

- :class:`PolynomialModel`: x' and y' each a polynomial of total degree 2 or 3 in (x, y), fitted by least
  squares on coordinates centred and scaled to about [-1, 1] (for conditioning).
- :class:`LocalModel`: the affine plus a smooth field of its residuals — a thin-plate spline with
  smoothing (scipy's ``RBFInterpolator``), the smoothing chosen by spatially blocked cross-validation
  among ``SMOOTHING`` — faded out beyond the tie points' support, so that far from any tie point the
  model is the affine and never extrapolates a bump. The support is where a tie point lies within
  ``REACH_SPACINGS`` typical tie-point spacings; the field fades to zero (smoothstep) over as much again.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.interpolate import RBFInterpolator
from scipy.spatial import cKDTree

from sarlign.georef.cross_validation import blocked_folds, held_out_errors
from sarlign.georef.robust import apply, fit_least_squares

SMOOTHING = (1e-3, 1e-2, 1e-1, 1.0, 10.0)  # thin-plate spline smoothing on unit-scaled coordinates
REACH_SPACINGS = 2.0  # full field within this many median tie-point spacings of a tie point
MIN_POINTS_PER_TERM = 3  # a polynomial needs this many points per coefficient to be fitted at all


def _normaliser(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (2,) and scale (px) that take ``points`` to about [-1, 1]."""
    centre = points.mean(axis=0)
    scale = float(np.abs(points - centre).max()) or 1.0
    return centre, scale


def _monomials(unit: np.ndarray, order: int) -> np.ndarray:
    """(N, M) terms x^i y^j with i + j ≤ order, of (N, 2) unit-scaled points."""
    x, y = unit[:, 0], unit[:, 1]
    return np.column_stack([x**i * y ** (total - i) for total in range(order + 1) for i in range(total + 1)])


@dataclass(frozen=True)
class PolynomialModel:
    """A polynomial of total degree ``order``; ``coefficients`` (M, 2) act on :func:`_monomials` of
    ``(points - centre) / scale``."""

    order: int
    centre: np.ndarray
    scale: float
    coefficients: np.ndarray

    def __call__(self, points: np.ndarray) -> np.ndarray:
        return _monomials((np.asarray(points, float) - self.centre) / self.scale, self.order) @ self.coefficients


def terms(order: int) -> int:
    """Coefficients per axis of a polynomial of total degree ``order``."""
    return (order + 1) * (order + 2) // 2


def fit_polynomial(src: np.ndarray, dst: np.ndarray, order: int) -> PolynomialModel:
    """Least-squares polynomial of total degree ``order`` from ``src`` to ``dst``.

    Raises:
        ValueError: fewer than ``MIN_POINTS_PER_TERM`` points per coefficient.
    """
    if len(src) < MIN_POINTS_PER_TERM * terms(order):
        raise ValueError(f"{len(src)} points are too few for a polynomial of order {order}")
    centre, scale = _normaliser(src)
    design = _monomials((src - centre) / scale, order)
    coefficients, *_ = np.linalg.lstsq(design, dst, rcond=None)
    return PolynomialModel(order, centre, scale, coefficients)


def _fade(distance: np.ndarray, reach: float) -> np.ndarray:
    """1 within ``reach`` px of a tie point, 0 beyond twice that, a smoothstep between."""
    t = np.clip((distance - reach) / reach, 0.0, 1.0)
    return 1.0 - t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class LocalModel:
    """The affine ``affine`` (2, 3) plus the thin-plate spline ``field`` of its residuals (on unit-scaled
    coordinates), faded out beyond ``reach`` px of the tie points in ``support``."""

    affine: np.ndarray
    field: RBFInterpolator
    centre: np.ndarray
    scale: float
    support: cKDTree
    reach: float
    smoothing: float

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, float)
        distance, _ = self.support.query(points)
        correction = self.field((points - self.centre) / self.scale)
        return apply(self.affine, points) + _fade(distance, self.reach)[:, None] * correction

    def displacement(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) what the model adds to the affine at ``points``, pixels."""
        return self(points) - apply(self.affine, points)


def fit_local(src: np.ndarray, dst: np.ndarray, smoothing: float | None = None) -> LocalModel:
    """The affine of ``src → dst`` plus a smoothed thin-plate spline of its residuals; ``smoothing`` None:
    chosen among ``SMOOTHING`` by spatially blocked cross-validation on these points."""
    if smoothing is None:
        smoothing = _chosen_smoothing(src, dst)
    affine = fit_least_squares(src, dst, "affine")
    centre, scale = _normaliser(src)
    field = RBFInterpolator((src - centre) / scale, dst - apply(affine, src), kernel="thin_plate_spline",
                            smoothing=smoothing)
    support = cKDTree(src)
    spacing = float(np.median(support.query(src, k=2)[0][:, 1])) if len(src) > 1 else 1.0
    return LocalModel(affine, field, centre, scale, support, REACH_SPACINGS * spacing, smoothing)


def _chosen_smoothing(src: np.ndarray, dst: np.ndarray) -> float:
    """The ``SMOOTHING`` value whose spatially blocked held-out error is smallest."""
    folds = blocked_folds(src)
    scores = []
    for smoothing in SMOOTHING:
        errors = held_out_errors(src, dst, lambda s, d, value=smoothing: fit_local(s, d, value), folds)
        scores.append(np.nanmean(errors**2))
    return SMOOTHING[int(np.nanargmin(scores))]
