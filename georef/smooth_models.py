"""Models richer than one affine, fitted to tie points: global polynomials and a smooth local field.

Every model maps (N, 2) points ``src`` → (N, 2) ``dst``, both in reference-grid pixels (x right, y down,
pixel corners at integers), as the global affine does (``sar_grid_xy → reference_xy``, see
:mod:`sarlign.georef.fit`).

- a global polynomial (:class:`PolynomialModel`): x' and y' each a polynomial of total degree 2 or 3 in
  (x, y), fitted by least squares on coordinates centred and scaled to about [-1, 1] (for conditioning);
- a smooth local field: the affine plus a thin-plate spline of its residuals — their median in cells of
  ``CELL_PX`` (or ``CELL_SPACINGS`` tie-point spacings, if longer), since the templates of neighbouring tie points overlap and share their errors, which a
  field through every tie point would follow (measured: the eval's spread doubles) — with smoothing
  (scipy's ``RBFInterpolator``), the smoothing chosen by spatially blocked cross-validation among ``SMOOTHING``:
  the smoothest whose held-out mean squared error is within ``SMOOTHING_TOLERANCE`` of the lowest (a
  field that follows each tie point's own error would move a registration with every new set of them).

Both are used as a :class:`SupportedModel`: the model inside the tie points' support, the affine far from
it, so that neither a polynomial nor a spline extrapolates a bend where no tie point says so. The support
is the tie points' convex hull: inside it the model interpolates across gaps (water, screened tiles);
beyond it what the model adds to the affine fades to zero (smoothstep) over ``REACH_SPACINGS`` median
tie-point spacings or ``REACH_SHARE`` of the hull's larger side, whichever is longer (a fade that gentle
is followed by the 33 × 33 GCP grid the output carries, see georef.gcps).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.interpolate import RBFInterpolator
from scipy.spatial import cKDTree
from shapely.geometry import MultiPoint, Polygon

from sarlign.georef.cross_validation import blocked_folds, held_out_errors
from sarlign.georef.robust import apply, fit_least_squares

SMOOTHING = (1e-3, 1e-2, 1e-1, 1.0, 10.0, 100.0)  # thin-plate spline smoothing on unit-scaled coordinates
SMOOTHING_TOLERANCE = 0.1  # relative, on the held-out mean squared error
CELL_PX = 128  # the field is fitted to the median residual per cell: neighbouring templates overlap
CELL_SPACINGS = 2.0  # or this many median tie-point spacings, if longer (a whole scene's thinned templates)
MIN_CELLS = 4  # cells holding tie points that a field needs (a plane has 3 terms)
REACH_SPACINGS = 4.0  # beyond the tie points' hull the field fades out over this many median spacings,
REACH_SHARE = 0.15  # or this share of the hull's larger side if longer
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
    """1 at distance 0 (inside the support), 0 from ``reach`` px on, a smoothstep between."""
    t = np.clip(distance / reach, 0.0, 1.0)
    return 1.0 - t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class SupportedModel:
    """``inner`` (a model, (N, 2) → (N, 2)) inside ``support`` (the tie points' convex hull, pixels), the
    affine ``affine`` (2, 3) from ``reach`` px beyond it, faded between."""

    name: str
    affine: np.ndarray
    inner: Callable[[np.ndarray], np.ndarray]
    support: Polygon
    reach: float
    smoothing: float | None = None  # a local field's spline smoothing

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, float)
        base = apply(self.affine, points)
        distance = shapely.distance(self.support, shapely.points(points))  # 0 inside the hull
        return base + _fade(distance, self.reach)[:, None] * (self.inner(points) - base)

    def displacement(self, points: np.ndarray) -> np.ndarray:
        """(N, 2) what the model adds to the affine at ``points``, pixels."""
        return self(points) - apply(self.affine, points)


def _spacing(points: np.ndarray) -> float:
    """The median distance (px) from a tie point to its nearest neighbour."""
    return float(np.median(cKDTree(points).query(points, k=2)[0][:, 1])) if len(points) > 1 else 1.0


def _supported(
    name: str,
    src: np.ndarray,
    affine: np.ndarray,
    spacing: float,
    inner: Callable[[np.ndarray], np.ndarray],
    smoothing: float | None = None,
) -> SupportedModel:
    """``inner`` within the hull of the tie points ``src`` (median spacing ``spacing`` px), ``affine``
    (2, 3), the tie points' own least-squares affine, beyond it."""
    extent = float(np.ptp(src, axis=0).max())
    reach = max(REACH_SPACINGS * spacing, REACH_SHARE * extent, 1.0)
    return SupportedModel(name, affine, inner, MultiPoint(src).convex_hull, reach, smoothing)


def fit_supported_polynomial(src: np.ndarray, dst: np.ndarray, order: int) -> SupportedModel:
    """A polynomial of total degree ``order`` (see :func:`fit_polynomial`) within the tie points' support."""
    affine = fit_least_squares(src, dst, "affine")
    return _supported(f"polynomial{order}", src, affine, _spacing(src), fit_polynomial(src, dst, order))


def fit_local(src: np.ndarray, dst: np.ndarray, smoothing: float | None = None) -> SupportedModel:
    """The affine of ``src → dst`` plus a smoothed thin-plate spline of its residuals, within the tie
    points' support; ``smoothing`` None: chosen among ``SMOOTHING`` by spatially blocked cross-validation
    on these points."""
    if smoothing is None:
        smoothing = _chosen_smoothing(src, dst)
    affine = fit_least_squares(src, dst, "affine")
    centre, scale = _normaliser(src)
    spacing = _spacing(src)
    cell = max(CELL_PX, CELL_SPACINGS * spacing)
    at, residual = _cell_medians(src, dst - apply(affine, src), cell)
    if len(at) < MIN_CELLS:
        raise ValueError(f"the tie points fill {len(at)} cells of {cell:.0f} px; a local field needs {MIN_CELLS}")
    field = RBFInterpolator((at - centre) / scale, residual, kernel="thin_plate_spline", smoothing=smoothing)
    return _supported("local", src, affine, spacing,
                      lambda points: apply(affine, points) + field((points - centre) / scale), smoothing)


def _cell_medians(points: np.ndarray, residuals: np.ndarray, cell: float) -> tuple[np.ndarray, np.ndarray]:
    """Per ``cell``-px cell holding tie points: their mean position (2,) and median residual (2,)."""
    cells = np.floor(points / cell).astype(np.int64)
    _, which = np.unique(cells, axis=0, return_inverse=True)
    which = which.ravel()
    count = which.max() + 1
    at = np.array([points[which == k].mean(axis=0) for k in range(count)])
    median = np.array([np.median(residuals[which == k], axis=0) for k in range(count)])
    return at, median


def _chosen_smoothing(src: np.ndarray, dst: np.ndarray) -> float:
    """The largest ``SMOOTHING`` value whose spatially blocked held-out mean squared error is within
    ``SMOOTHING_TOLERANCE`` of the smallest."""
    folds = blocked_folds(src)
    scores = []
    for smoothing in SMOOTHING:
        errors = held_out_errors(src, dst, lambda s, d, value=smoothing: fit_local(s, d, value), folds)
        scores.append(np.mean(errors[np.isfinite(errors)] ** 2) if np.isfinite(errors).any() else np.inf)
    if not np.isfinite(scores).any():
        raise ValueError("the tie points hold too few cells for a local field held out")
    good_enough = min(scores) * (1 + SMOOTHING_TOLERANCE)
    return max(value for value, score in zip(SMOOTHING, scores) if score <= good_enough)
