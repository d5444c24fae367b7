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
both axes at once, on at most ``FIT_POINTS`` evenly thinned points, the range no shorter than
``RANGE_FOOTPRINTS`` footprints (measured, see BENCHMARKS.md: on Rosenheim, whose tie points bend at a
template's scale where its 164 check points do not, 1, 1.5 and 2 footprints give 1.30, 1.27 and 1.24 px
at the check points, the affine 1.19 px; 2 footprints hide bumps 120 px wide from ``--transform auto``'s
held-out comparison, 1.5 do not); the field is then the kriging
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
RANGE_FOOTPRINTS = 1.5  # and at least this many footprints: a template averages the field over its window,
# so a field that varies within one or two of them is hard to tell from the noise their overlap shares
MAX_RANGE_SHARE = 0.5  # and at most this share of the tie points' extent: a longer field bends the whole scene
# (a global polynomial's job), and it competes with the trend: on an eval case rotated by 0.9° it took a
# 1368 px range and a 39 px² sill, and moved the registration by 1.5 px against the same pair unrotated
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
        if self.footprint_px > 0:  # the share of their windows two tie points have in common, axis by axis
            shared = _window_share(points[:, 0], self.footprint_px)
            shared *= _window_share(points[:, 1], self.footprint_px)
        else:
            shared = np.eye(len(points))
        shared *= self.nugget_px2 * scale[:, None] * scale[None, :]
        return shared


def _window_share(coordinate: np.ndarray, side: float) -> np.ndarray:
    """(N, N) 1 − |Δ| / ``side``, at least 0: the share of two ``side``-px windows' extent along one axis
    that both cover, for windows centred at ``coordinate`` (N,)."""
    share = np.abs(np.subtract.outer(coordinate, coordinate))
    share *= -1.0 / side
    share += 1.0
    np.clip(share, 0.0, None, out=share)
    return share


PREDICTION_ROWS = 4096  # points predicted at once: the cross-covariance is rows × tie points


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
    """Indices (sorted) of at most ``most`` of ``count`` points, drawn at random with a fixed seed: an even
    stride through the template grid's order would alias with it and keep no overlapping neighbours,
    whose shared noise the fit must see."""
    if count <= most:
        return np.arange(count)
    return np.sort(np.random.default_rng(0).choice(count, most, replace=False))


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
    low_range = max(MIN_RANGE_PX, RANGE_FOOTPRINTS * footprint_px)
    high_range = max(MAX_RANGE_SHARE * extent, 2 * low_range)
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
    displacement: np.ndarray  # (N, 2) the tie points' dst − src
    noise_weights: np.ndarray  # (N,) their relative noise variances

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
        return at + _trend_design(at, self.centre, self.scale) @ self.trend + self.field(at)

    def field(self, at: np.ndarray) -> np.ndarray:
        """(M, 2) the displacement beyond the global part at ``at``, px."""
        at = np.asarray(at, float).reshape(-1, 2)
        return np.concatenate([self.covariance.field(at[i : i + PREDICTION_ROWS], self.points) @ self.weights
                               for i in range(0, len(at), PREDICTION_ROWS)] or [np.zeros((0, 2))])

    def standard_deviation(self, at: np.ndarray) -> np.ndarray:
        """(M,) the predicted displacement's standard deviation per axis (px): the universal kriging
        variance, the trend's uncertainty included (the same on both axes, which share the covariance)."""
        at = np.asarray(at, float).reshape(-1, 2)
        return np.concatenate([self._standard_deviation(at[i : i + PREDICTION_ROWS])
                               for i in range(0, len(at), PREDICTION_ROWS)] or [np.zeros(0)])

    def _standard_deviation(self, at: np.ndarray) -> np.ndarray:
        cross = self.covariance.field(at, self.points)  # (M, N)
        whitened = solve_triangular(self.factor, cross.T, lower=True)  # L⁻¹ k, (N, M)
        simple = self.covariance.sill_px2 - (whitened**2).sum(axis=0)
        whitened_design = solve_triangular(self.factor, self.design, lower=True)  # L⁻¹ F, (N, 3)
        gap = _trend_design(at, self.centre, self.scale) - whitened.T @ whitened_design  # (M, 3)
        trend = (solve_triangular(self.gram_factor, gap.T, lower=True) ** 2).sum(axis=0)
        return np.sqrt(np.clip(simple + trend, 0.0, None))

    def thinned(self, most: int) -> KrigedField:
        """The same field kriged from at most ``most`` of its tie points (evenly through their order): its
        standard deviation is an upper bound of this one's (an observation more never raises a kriging
        variance) at a share of the cost, which grows with the square of the tie points."""
        keep = _thinned(len(self.points), most)
        if len(keep) == len(self.points):
            return self
        return krige(self.points[keep], self.points[keep] + self.displacement[keep], self.covariance, self.noise_weights[keep])

    def leave_one_out(self) -> tuple[np.ndarray, np.ndarray]:
        """Each tie point against all the others: (N, 2) its observed displacement minus what the others
        predict for that observation (px; the noise it shares with overlapping neighbours included, the
        trend re-estimated) and (N,) that difference's standard deviation per axis (px). The closed form
        of universal kriging, ``(P y)_i / P_ii`` and ``1 / √P_ii`` with
        P = K⁻¹ − K⁻¹F (FᵀK⁻¹F)⁻¹ FᵀK⁻¹ (``weights`` is P y), no refits."""
        inverse = cho_solve((self.factor, True), np.eye(len(self.points)))  # K⁻¹
        trend_part = solve_triangular(self.gram_factor, (inverse @ self.design).T, lower=True)  # L_g⁻¹ Fᵀ K⁻¹
        precision = np.diag(inverse) - (trend_part**2).sum(axis=0)  # P_ii
        return self.weights / precision[:, None], 1.0 / np.sqrt(precision)


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
    return KrigedField(covariance, src, centre, scale, trend, weights_, factor, gram_factor, design, dst - src, weights)
