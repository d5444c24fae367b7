"""The smooth local field as spatial statistics: universal kriging of the tie points' displacements.

Points are (N, 2) reference-grid pixels (x right, y down, corners at integers); a displacement is
``dst − src`` in pixels. The model, per axis, is

    displacement(p) = f(p)ᵀ β + z(p) + ε

- ``f(p) β``: an affine trend, its three coefficients per axis estimated by generalised least squares
  together with the field (the *global part*: it is what the gates judge, and what remains beyond the
  tie points);
- ``z``: a zero-mean Gaussian field with a Matérn 5/2 covariance of variance ``sill`` (px²) and length
  ``range`` (px);
- ``ε``: matching noise of variance ``nugget`` (px²) for a tie point of median score, more for a weaker
  match (:func:`noise_weights`); two tie points whose templates overlap share the pixels they measured and
  so their noise, in proportion to the area their ``footprint``-px windows share (a template grid at a
  quarter of the template's side overlaps by up to 75 %; independent noise would read that as a field).

The covariance parameters are chosen by restricted maximum likelihood (REML, the trend integrated out) on
both axes at once, on at most ``FIT_POINTS`` evenly thinned points; the field is then the kriging
prediction from all points, with its standard deviation (the kriging variance, trend uncertainty
included). Where the data hold no field the fitted sill falls towards zero and the model is the affine.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.linalg import cho_factor, cho_solve, solve_triangular
from scipy.optimize import minimize
from scipy.spatial.distance import cdist

FIT_POINTS = 800  # points the covariance parameters are fitted on (REML costs one Cholesky per evaluation)
MIN_RANGE_PX = 16.0  # the field's shortest length: below it, nothing a template-based tie point resolves
RANGE_FOOTPRINTS = 2.0  # and at least this many footprints: a template averages the field over its window,
# so a field that varies within two of them cannot be told from the noise their overlap shares
NUGGET_FLOOR_PX2 = 1e-4  # sub-pixel peak refinement is not better than about 0.01 px
JITTER = 1e-8  # relative, on the diagonal: keeps the Cholesky of near-duplicate points well defined


@dataclass(frozen=True)
class Covariance:
    """The field's covariance parameters (see the module docstring); pixels and px²."""

    sill_px2: float
    range_px: float
    nugget_px2: float
    footprint_px: float  # side of the window each tie point measured; 0: independent noise

    def field(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """(len(a), len(b)) Matérn 5/2 covariance of the field between points ``a`` and ``b`` (px)."""
        r = math.sqrt(5.0) * cdist(a, b) / self.range_px
        return self.sill_px2 * (1.0 + r + r * r / 3.0) * np.exp(-r)

    def noise(self, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
        """(N, N) noise covariance of tie points at ``points`` with relative noise variances ``weights``."""
        scale = np.sqrt(weights)
        shared = np.eye(len(points))
        if self.footprint_px > 0:
            gap = np.abs(points[:, None, :] - points[None, :, :]) / self.footprint_px
            shared = np.prod(np.clip(1.0 - gap, 0.0, None), axis=2)
        return self.nugget_px2 * shared * scale[:, None] * scale[None, :]


def noise_weights(score: np.ndarray) -> np.ndarray:
    """(N,) relative noise variance of tie points of ``score`` (peak NCC in [0, 1]), 1 at the median.

    The variance of a correlation peak's position grows as the correlation falls, as (1 − ρ)/ρ for a
    template of given size (the peak's curvature relative to its noise); clipped to [1/4, 4] so that no
    single tie point dominates or vanishes.
    """
    score = np.clip(np.asarray(score, float), 0.05, 0.99)
    ratio = (1.0 - score) / score
    return np.clip(ratio / np.median(ratio), 0.25, 4.0) if len(ratio) else ratio


def unit_frame(points: np.ndarray) -> tuple[np.ndarray, float]:
    """Centre (2,) and scale (px) that take (N, 2) ``points`` to about [-1, 1] (for conditioning)."""
    centre = points.mean(axis=0)
    return centre, float(np.abs(points - centre).max()) or 1.0


def _trend_design(points: np.ndarray, centre: np.ndarray, scale: float) -> np.ndarray:
    """(N, 3) the affine trend's terms 1, x, y on coordinates centred and scaled to about [-1, 1]."""
    unit = (points - centre) / scale
    return np.column_stack([np.ones(len(points)), unit])


def _restricted_log_likelihood(covariance: np.ndarray, design: np.ndarray, values: np.ndarray) -> float:
    """REML log likelihood (up to a constant) of (N, 2) ``values`` with an affine trend ``design`` (N, 3)
    and the (N, N) covariance of one axis, summed over both axes."""
    try:
        factor = cho_factor(covariance, lower=True)
    except np.linalg.LinAlgError:
        return -np.inf
    whitened_design = solve_triangular(factor[0], design, lower=True)
    whitened = solve_triangular(factor[0], values, lower=True)
    gram = whitened_design.T @ whitened_design
    try:
        gram_factor = cho_factor(gram, lower=True)
    except np.linalg.LinAlgError:
        return -np.inf
    beta = cho_solve(gram_factor, whitened_design.T @ whitened)
    residual = whitened - whitened_design @ beta
    log_det = 2.0 * np.log(np.diag(factor[0])).sum()
    log_det_gram = 2.0 * np.log(np.diag(gram_factor[0])).sum()
    axes = values.shape[1]
    return float(-0.5 * ((residual**2).sum() + axes * (log_det + log_det_gram)))


def _thinned(count: int, most: int) -> np.ndarray:
    """Indices of at most ``most`` of ``count`` points, evenly through their order (tiles, then rows)."""
    return np.arange(count) if count <= most else np.linspace(0, count - 1, most).astype(int)


def fit_covariance(src: np.ndarray, displacement: np.ndarray, weights: np.ndarray, footprint_px: float) -> Covariance:
    """The covariance parameters of maximum restricted likelihood for (N, 2) ``displacement`` at ``src``.

    Raises:
        ValueError: fewer than 10 points (three trend terms per axis leave too little to fit a field to).
    """
    if len(src) < 10:
        raise ValueError(f"{len(src)} tie points are too few for a local field")
    keep = _thinned(len(src), FIT_POINTS)
    src, displacement, weights = src[keep], displacement[keep], weights[keep]
    centre, scale = unit_frame(src)
    design = _trend_design(src, centre, scale)
    extent = float(np.ptp(src, axis=0).max()) or 1.0
    # Start from the residual variance of a least-squares affine, split evenly between field and noise.
    coefficients, *_ = np.linalg.lstsq(design, displacement, rcond=None)
    variance = max(float(((displacement - design @ coefficients) ** 2).mean()), 1e-3)
    low_range, high_range = max(MIN_RANGE_PX, RANGE_FOOTPRINTS * footprint_px), max(2.0 * extent, 2 * MIN_RANGE_PX)
    bounds = [(math.log(1e-5), math.log(100.0)), (math.log(low_range), math.log(high_range)),
              (math.log(NUGGET_FLOOR_PX2), math.log(25.0))]

    def cost(log_params: np.ndarray) -> float:
        sill, length, nugget = np.exp(log_params)
        model = Covariance(sill, length, nugget, footprint_px)
        covariance = model.field(src, src) + model.noise(src, weights)
        covariance[np.diag_indices_from(covariance)] += JITTER * (sill + nugget)
        value = _restricted_log_likelihood(covariance, design, displacement)
        return -value if np.isfinite(value) else 1e12

    starts = [np.log([variance / 2, min(max(extent / 6, low_range), high_range), variance / 2]),
              np.log([variance / 10, min(max(extent / 3, low_range), high_range), variance])]
    best = min((minimize(cost, start, method="L-BFGS-B", bounds=bounds) for start in starts), key=lambda r: r.fun)
    sill, length, nugget = np.exp(best.x)
    return Covariance(float(sill), float(length), float(nugget), footprint_px)


@dataclass(frozen=True)
class KrigedField:
    """The kriging predictor of a fitted field: callable on (M, 2) points → (M, 2) positions (``src`` +
    displacement), as the other models (see :mod:`sarlign.georef.smooth_models`)."""

    covariance: Covariance
    points: np.ndarray  # (N, 2) tie points, src
    centre: np.ndarray
    scale: float
    trend: np.ndarray  # (3, 2) GLS coefficients of the affine trend of the displacement
    weights: np.ndarray  # (N, 2) K⁻¹ (displacement − F β)
    factor: np.ndarray  # (N, N) lower Cholesky factor of K
    gram_factor: np.ndarray  # (3, 3) lower Cholesky factor of Fᵀ K⁻¹ F
    design: np.ndarray  # (N, 3)

    @property
    def affine(self) -> np.ndarray:
        """(2, 3) the global part as a pixel affine src → dst (x' = a x + b y + c, y' = d x + e y + f)."""
        t, s, (cx, cy) = self.trend, self.scale, self.centre
        linear = np.eye(2) + t[1:].T / s  # rows: x', y'; columns: x, y
        offset = t[0] - linear @ np.array([cx, cy]) + np.array([cx, cy])
        return np.column_stack([linear, offset])

    @property
    def linear_standard_error(self) -> float:
        """The standard error of the global part's linear terms (the x and y derivatives of the trend, the
        larger of the two; unitless, radians for a rotation): how well the tie points, correlated by
        the field, pin down a rotation or scale change."""
        inverse_gram = cho_solve((self.gram_factor, True), np.eye(3))
        return float(np.sqrt(np.diag(inverse_gram)[1:]).max() / self.scale)

    def __call__(self, at: np.ndarray) -> np.ndarray:
        at = np.asarray(at, float)
        return at + _trend_design(at, self.centre, self.scale) @ self.trend + self.covariance.field(at, self.points) @ self.weights

    def field(self, at: np.ndarray) -> np.ndarray:
        """(M, 2) the displacement beyond the global part at ``at``, px."""
        return self.covariance.field(np.asarray(at, float), self.points) @ self.weights

    def standard_deviation(self, at: np.ndarray) -> np.ndarray:
        """(M,) the predicted displacement's standard deviation per axis (px): the universal kriging
        variance, the trend's uncertainty included (the same on both axes, which share the covariance)."""
        at = np.asarray(at, float)
        cross = self.covariance.field(at, self.points)  # (M, N)
        whitened = solve_triangular(self.factor, cross.T, lower=True)  # L⁻¹ k, (N, M)
        simple = self.covariance.sill_px2 - (whitened**2).sum(axis=0)
        whitened_design = solve_triangular(self.factor, self.design, lower=True)  # L⁻¹ F, (N, 3)
        gap = _trend_design(at, self.centre, self.scale) - whitened.T @ whitened_design  # (M, 3)
        trend = (solve_triangular(self.gram_factor, gap.T, lower=True) ** 2).sum(axis=0)
        return np.sqrt(np.clip(simple + trend, 0.0, None))

    def leave_one_out(self) -> np.ndarray:
        """(N, 2) each tie point's displacement minus its prediction from all the others, trend re-estimated
        (px): the closed form of universal kriging, ``(P y)_i / P_ii`` with P = K⁻¹ − K⁻¹F (FᵀK⁻¹F)⁻¹ FᵀK⁻¹
        (``weights`` is P y), no refits."""
        inverse_factor = solve_triangular(self.factor, np.eye(len(self.points)), lower=True)  # L⁻¹
        inverse_diagonal = (inverse_factor**2).sum(axis=0)
        trend_part = solve_triangular(self.gram_factor, (inverse_factor.T @ (inverse_factor @ self.design)).T, lower=True)
        return self.weights / (inverse_diagonal - (trend_part**2).sum(axis=0))[:, None]


def krige(src: np.ndarray, dst: np.ndarray, covariance: Covariance, weights: np.ndarray) -> KrigedField:
    """The kriging predictor of ``src → dst`` (N, 2) tie points with fitted ``covariance`` and relative
    noise variances ``weights`` (N,).

    Raises:
        ValueError: the covariance matrix is not positive definite (duplicate points with no noise).
    """
    centre, scale = unit_frame(src)
    design = _trend_design(src, centre, scale)
    covariance_matrix = covariance.field(src, src) + covariance.noise(src, weights)
    covariance_matrix[np.diag_indices_from(covariance_matrix)] += JITTER * (covariance.sill_px2 + covariance.nugget_px2)
    try:
        factor = np.linalg.cholesky(covariance_matrix)
    except np.linalg.LinAlgError:
        raise ValueError("the tie points' covariance is singular") from None
    whitened_design = solve_triangular(factor, design, lower=True)
    whitened = solve_triangular(factor, dst - src, lower=True)
    gram_factor = np.linalg.cholesky(whitened_design.T @ whitened_design)
    trend = cho_solve((gram_factor, True), whitened_design.T @ whitened)
    weights_ = solve_triangular(factor.T, whitened - whitened_design @ trend, lower=False)
    return KrigedField(covariance, src, centre, scale, trend, weights_, factor, gram_factor, design)
