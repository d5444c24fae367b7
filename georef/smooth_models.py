"""Models richer than one affine, fitted to tie points: global polynomials and a smooth local field.

Every model maps (N, 2) points ``src`` → (N, 2) ``dst``, both in reference-grid pixels (x right, y down,
pixel corners at integers), as the global affine does (``sar_grid_xy → reference_xy``, see
:mod:`sarlign.georef.fit`).

- a global polynomial (:class:`PolynomialModel`): x' and y' each a polynomial of total degree 2 or 3 in
  (x, y), fitted by least squares on coordinates centred and scaled to about [-1, 1] (for conditioning);
- a smooth local field (:func:`fit_local`): universal kriging of the tie points' displacements, an affine
  trend estimated together with a Gaussian field whose covariance is fitted to the tie points themselves
  (:mod:`sarlign.georef.kriging`); its tie points are screened against their neighbours, not against one
  global affine, whose residuals are largest exactly where the field bends most
  (:func:`fit_local_robust`).

Both are used as a :class:`SupportedModel`: the model inside the tie points' support, the affine far from
it (for the local field, its own trend), so that neither a polynomial nor a field extrapolates a bend
where no tie point says so. The support is the tie points' convex hull: inside it the model interpolates
across gaps (water, screened tiles); beyond it what the model adds to the affine fades to zero
(smoothstep) over ``REACH_SPACINGS`` median tie-point spacings or ``REACH_SHARE`` of the hull's larger
side, whichever is longer (a fade that gentle is followed by the GCP grid the output carries, see
georef.gcps).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely.geometry import MultiPoint, Polygon

from sarlign.georef.kriging import Covariance, fit_covariance, krige, unit_frame
from sarlign.georef.robust import apply, fit_least_squares

NEIGHBOURS = 8  # a local field's tie point is compared with this many nearest neighbours
CONSISTENCY_MADS = 3.0  # robust deviations (1.4826 × median absolute deviation) a tie point may stray
CONSISTENCY_FLOOR_PX = 1.0  # from its neighbours' median, but never less than this
CANDIDATE_THRESHOLDS = 3.0  # a local field's candidates lie within this many inlier thresholds of the affine:
# a field bends its tie points beyond the affine's inliers (measured on the validation pairs bent by known
# fields: 1.5 thresholds lose the bump peaks of pair 253, whose error grows from 1.04 to 2.22 px); clusters
# of wrong matches may lie within them too (an eval case of pair 214: 2.1 px from the same pair unwarped,
# 1.5 px with 1.5 thresholds), which the field then follows
LEAVE_ONE_OUT_SIGMAS = 4.0  # a kriged tie point the others predict worse than this many deviations is dropped
REACH_SPACINGS = 4.0  # beyond the tie points' hull the field fades out over this many median spacings,
REACH_SHARE = 0.15  # or this share of the hull's larger side if longer
MIN_POINTS_PER_TERM = 3  # a polynomial needs this many points per coefficient to be fitted at all


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
    centre, scale = unit_frame(src)
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
    covariance: Covariance | None = None  # a local field's, fitted to its tie points

    def __call__(self, points: np.ndarray) -> np.ndarray:
        points = np.asarray(points, float)
        base = apply(self.affine, points)
        weight = _fade(shapely.distance(self.support, shapely.points(points)), self.reach)  # 1 inside the hull
        near = weight > 0  # beyond the fade the affine alone: the inner model is not evaluated there
        base[near] += weight[near, None] * (self.inner(points[near]) - base[near])
        return base

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
    covariance: Covariance | None = None,
) -> SupportedModel:
    """``inner`` within the hull of the tie points ``src`` (median spacing ``spacing`` px), ``affine``
    (2, 3), the tie points' own least-squares affine, beyond it."""
    extent = float(np.ptp(src, axis=0).max())
    reach = max(REACH_SPACINGS * spacing, REACH_SHARE * extent, 1.0)
    return SupportedModel(name, affine, inner, MultiPoint(src).convex_hull, reach, covariance)


def fit_supported_polynomial(src: np.ndarray, dst: np.ndarray, order: int) -> SupportedModel:
    """A polynomial of total degree ``order`` (see :func:`fit_polynomial`) within the tie points' support."""
    affine = fit_least_squares(src, dst, "affine")
    return _supported(f"polynomial{order}", src, affine, _spacing(src), fit_polynomial(src, dst, order))


def fit_local(
    src: np.ndarray,
    dst: np.ndarray,
    weights: np.ndarray | None = None,
    footprint_px: float = 0.0,
    covariance: Covariance | None = None,
) -> SupportedModel:
    """The kriged field of ``src → dst`` (N, 2) within the tie points' support, faded beyond it to its own
    global part (the trend). ``weights`` (N,): relative noise variances (1 for all when None);
    ``footprint_px``: the side of the window each tie point measured; ``covariance`` None: fitted to these
    points (REML), else kept (refits for cross-validation).

    Raises:
        ValueError: too few tie points for a field.
    """
    weights = np.ones(len(src)) if weights is None else weights
    if covariance is None:
        covariance = fit_covariance(src, dst - src, weights, footprint_px)
    field = krige(src, dst, covariance, weights)
    return _supported("local", src, field.affine, _spacing(src), field, covariance)


def local_refitter(covariance: Covariance) -> Callable[[np.ndarray, np.ndarray, np.ndarray], SupportedModel]:
    """A fitter of :func:`fit_local` that keeps ``covariance`` (refits for cross-validation: fitting it
    costs a likelihood search)."""
    return lambda src, dst, weights: fit_local(src, dst, weights, covariance.footprint_px, covariance)


def consistent_with_neighbours(src: np.ndarray, residuals: np.ndarray) -> np.ndarray:
    """(N,) bool: tie points whose residual vector (N, 2, px) agrees with the median of their
    ``NEIGHBOURS`` nearest neighbours' within ``CONSISTENCY_MADS`` robust deviations (at least
    ``CONSISTENCY_FLOOR_PX``): a smooth field moves neighbours together, a wrong match moves alone."""
    if len(src) <= NEIGHBOURS:
        return np.ones(len(src), bool)
    _, nearest = cKDTree(src).query(src, k=NEIGHBOURS + 1)
    deviation = np.linalg.norm(residuals - np.median(residuals[nearest[:, 1:]], axis=1), axis=1)
    return deviation < max(CONSISTENCY_MADS * 1.4826 * float(np.median(deviation)), CONSISTENCY_FLOOR_PX)


def fit_local_robust(
    src: np.ndarray, dst: np.ndarray, affine: np.ndarray, weights: np.ndarray, footprint_px: float, threshold_px: float
) -> tuple[SupportedModel, np.ndarray]:
    """The local field of the tie points that agree with their neighbours, and which those are (N,) bool.

    Candidates are the tie points within ``CANDIDATE_THRESHOLDS`` × ``threshold_px`` of the robust
    ``affine`` (2, 3): a field bends further from it than the affine's own inliers do, and wrong matches
    lie further still. Of those, the ones consistent with their neighbours
    (:func:`consistent_with_neighbours`) are kriged; a tie point that the others then predict worse than
    ``LEAVE_ONE_OUT_SIGMAS`` standard deviations of that prediction (and ``threshold_px`` / 5) is dropped
    and the field kriged once more with the same covariance.

    Raises:
        ValueError: too few tie points for a field.
    """
    residuals = dst - apply(affine, src)
    candidates = np.flatnonzero(np.linalg.norm(residuals, axis=1) < CANDIDATE_THRESHOLDS * threshold_px)
    kept = candidates[consistent_with_neighbours(src[candidates], residuals[candidates])]
    model = fit_local(src[kept], dst[kept], weights[kept], footprint_px)
    residual, deviation = model.inner.leave_one_out()
    held_out = np.linalg.norm(residual, axis=1)
    poor = held_out > np.maximum(LEAVE_ONE_OUT_SIGMAS * math.sqrt(2.0) * deviation, threshold_px / 5)
    if poor.any():
        kept = kept[~poor]
        model = fit_local(src[kept], dst[kept], weights[kept], footprint_px, model.covariance)
    inliers = np.zeros(len(src), bool)
    inliers[kept] = True
    return model, inliers
