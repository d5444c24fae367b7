"""From tie points to one global correction, its quality figures, and the SAR's new geotransform.

Tie points live on the reference grid: ``reference_xy`` is where a feature truly is, ``sar_grid_xy`` where
the SAR shows it under its current georeferencing, both in reference-grid pixels (x, y), corners at
integers. The robust model maps ``sar_grid_xy → reference_xy``; as a map → map affine in the reference
CRS it is the correction. The new SAR geotransform is then fitted, on the inliers, from SAR pixel → true
position in the SAR's own CRS, so a SAR in another CRS than the reference needs no special case.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio.crs import CRS
from shapely.geometry import MultiPoint, Polygon

from sarlign.coords import map_points, metres_per_pixel
from sarlign.errors import FitRefusedError
from sarlign.georef.cross_validation import Fitter, Model, held_out_errors
from sarlign.georef.gates import FitGates, TransformKind
from sarlign.georef.kriging import noise_weights
from sarlign.georef.model_selection import CANDIDATES, compare_models, least_squares
from sarlign.georef.robust import MINIMAL_SAMPLE, ModelKind, apply, fit_least_squares, msac
from sarlign.georef.smooth_models import SupportedModel, fit_local_robust, local_refitter

RICHER = ("polynomial2", "polynomial3", "local")
GATE_STANDARD_ERRORS = 2.0  # see fit_global: the rotation and scale gates' allowance for a local field's trend,
GATE_ALLOWANCE_SHARE = 0.5  # at most this share of the gate


@dataclass(frozen=True)
class TiePoints:
    """N tie points (see module docstring); ``tile_id`` (N,) names the tile each came from;
    ``footprint_px`` is the side of the window each was measured in (0 for point features): tie points
    closer than that share pixels, and so their errors."""

    reference_xy: np.ndarray
    sar_grid_xy: np.ndarray
    score: np.ndarray
    tile_id: np.ndarray
    footprint_px: float = 0.0

    def __len__(self) -> int:
        return len(self.score)


@dataclass(frozen=True)
class Quality:
    """Figures that say how far the fit can be trusted (pixels are reference-grid pixels)."""

    tie_points: int
    pixel_size_m: float  # mean of a reference pixel's x and y size at the overlap centre, metres
    inliers: int
    inlier_ratio: float
    rmse_px: float
    rmse_m: float
    check_rmse_px: float
    check_rmse_m: float
    spread: float
    cells: int


@dataclass(frozen=True)
class Correction:
    """The correction as a map → map affine in the reference CRS, and its readable parts."""

    matrix: Affine
    # At the centre of the overlap, (east, north) in metres: map metres of a projected reference CRS,
    # metres on the ellipsoid for a geographic one.
    shift_m: tuple[float, float]
    shift_px: tuple[float, float]  # the same in reference pixels (x right, y down)
    rotation_deg: float
    scale: tuple[float, float]

    @property
    def axis_rotations_deg(self) -> tuple[float, float]:
        """How far the correction turns the map's x axis and its y axis (degrees, counter-clockwise);
        equal for a pure rotation, different under shear."""
        m = self.matrix
        return math.degrees(math.atan2(m.d, m.a)), math.degrees(math.atan2(-m.b, m.e))


@dataclass(frozen=True)
class GlobalFit:
    """The outcome of the georef stage.

    ``kind`` is the model fitted (``auto`` resolved to its choice). ``model`` is the affine, or for a
    richer model its affine part (the correction's readable figures come from it); ``field`` is the
    richer model itself, and then the SAR gets GCPs instead of a geotransform.
    """

    kind: str
    model: np.ndarray  # (2, 3), sar_grid_xy -> reference_xy, reference-grid pixels
    inliers: np.ndarray  # (N,) bool
    residuals_px: np.ndarray  # (N,)
    quality: Quality
    correction: Correction
    new_transform: Affine | None  # None for a SAR georeferenced by GCPs (see georef.gcps) or a richer model
    refusals: list[str] = field(default_factory=list)
    field: Model | None = None  # polynomial or local model, sar_grid_xy -> reference_xy, reference pixels
    selection: dict[str, Any] | None = None  # with auto: each candidate's held-out RMSE, the best, the choice

    def predict(self, sar_grid_xy: np.ndarray) -> np.ndarray:
        """Where the fit puts (N, 2) SAR-grid points on the reference grid (pixels)."""
        return self.field(sar_grid_xy) if self.field is not None else apply(self.model, sar_grid_xy)


def residual_vectors_px(fit: GlobalFit, ties: TiePoints) -> np.ndarray:
    """(N, 2) residual vectors of the tie points the fit was made from: the fit's prediction
    ``model(sar_grid_xy)`` minus the truth ``reference_xy``, in reference-grid pixels (x right, y down).
    Their lengths are ``fit.residuals_px``."""
    return fit.predict(ties.sar_grid_xy) - ties.reference_xy


def _cross_validated_rmse(
    src: np.ndarray, dst: np.ndarray, fit: Fitter, weights: np.ndarray, folds: int = 5, seed: int = 0
) -> float:
    """RMSE of each inlier predicted by a model ``fit`` without it (random k-fold hold-out), pixels."""
    order = np.random.default_rng(seed).permutation(len(src))
    errors = held_out_errors(src, dst, fit, [order[k::folds] for k in range(folds)], weights)
    errors = errors[np.isfinite(errors)]  # folds too small for a polynomial
    return float(np.sqrt(np.mean(errors**2))) if len(errors) else math.nan


def _refitter(model: SupportedModel) -> Fitter:
    """How to fit ``model``'s kind again to other points, keeping a local field's covariance (fitting it
    costs a likelihood search)."""
    return local_refitter(model.covariance) if model.name == "local" else CANDIDATES[model.name]


def _richer_fit(
    ties: TiePoints, weights: np.ndarray, inliers: np.ndarray, kind: TransformKind, threshold: float, affine: np.ndarray
) -> tuple[str, Model | None, dict[str, Any] | None, np.ndarray]:
    """(the model's name, the richer model or None for the affine, auto's selection, inliers (N,) bool).

    A polynomial is fitted to the robust ``affine``'s inliers, then once more to the points within
    ``threshold`` of it: distortion the affine could not follow may have left good tie points out (``weights``
    (N,): the tie points' relative noise variances). A local
    field screens the tie points itself, each against its neighbours (see
    :func:`sarlign.georef.smooth_models.fit_local_robust`).

    Raises:
        FitRefusedError: too few inliers for the model asked for.
    """
    src, dst = ties.sar_grid_xy, ties.reference_xy
    name, selection = kind, None
    if kind == "auto":
        comparison = compare_models(src[inliers], dst[inliers], weights[inliers], ties.footprint_px)
        name = comparison.chosen
        selection = {"held_out_rmse_px": comparison.held_out_rmse_px, "best": comparison.best, "chosen": name}
    if name == "affine":
        return name, None, selection, inliers
    try:
        if name == "local":
            model, near = fit_local_robust(src, dst, affine, weights, ties.footprint_px, threshold)
        else:
            model = CANDIDATES[name](src[inliers], dst[inliers], weights[inliers])
            near = np.linalg.norm(model(src) - dst, axis=1) < threshold
            model = CANDIDATES[name](src[near], dst[near], weights[near])
    except ValueError as error:
        raise FitRefusedError(f"the fit is not trustworthy: {error}", {"refusals": [str(error)]}) from None
    return name, model, selection, near


def _occupied_cells(points: np.ndarray, bounds: tuple[float, float, float, float]) -> int:
    """How many cells of a 3 × 3 division of ``bounds`` (pixels) hold at least one point."""
    x0, y0, x1, y1 = bounds
    cx = np.clip(((points[:, 0] - x0) / max(x1 - x0, 1e-9) * 3).astype(int), 0, 2)
    cy = np.clip(((points[:, 1] - y0) / max(y1 - y0, 1e-9) * 3).astype(int), 0, 2)
    return len(set(zip(cx.tolist(), cy.tolist())))


def _correction(
    model: np.ndarray, reference_transform: Affine, pixel_metres: tuple[float, float], centre_px: tuple[float, float]
) -> Correction:
    """Readable parts of the correction; the shift is taken at ``centre_px`` (north-up reference grid)."""
    pixel_model = Affine(*model[0], *model[1])
    matrix = reference_transform @ pixel_model @ ~reference_transform
    moved = pixel_model @ centre_px
    shift_px = (moved[0] - centre_px[0], moved[1] - centre_px[1])
    a, b, d, e = matrix.a, matrix.b, matrix.d, matrix.e
    sx, sy = math.hypot(a, d), math.hypot(b, e)
    return Correction(
        matrix=matrix,
        shift_m=(shift_px[0] * pixel_metres[0], -shift_px[1] * pixel_metres[1]),
        shift_px=shift_px,
        rotation_deg=math.degrees(math.atan2(d, a)),
        scale=(sx, sy),
    )


def locate_in_sar(
    sar_grid_xy: np.ndarray,
    reference_xy: np.ndarray,
    reference_transform: Affine,
    reference_crs: CRS,
    sar_crs: CRS,
    sar_map_to_pixel: Callable[[np.ndarray], np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Tie points in the SAR's own terms: (N, 2) SAR pixels (x=column, y=row, corners at integers) where
    the SAR shows each feature under its current georeferencing, and (N, 2) true map positions in the SAR's
    CRS. ``sar_map_to_pixel`` maps (N, 2) map (x, y) in ``sar_crs`` to SAR pixels (geotransform or GCPs)."""
    to_sar = Transformer.from_crs(reference_crs, sar_crs, always_xy=True)
    seen = np.column_stack(to_sar.transform(*map_points(reference_transform, sar_grid_xy).T))
    truth = np.column_stack(to_sar.transform(*map_points(reference_transform, reference_xy).T))
    return sar_map_to_pixel(seen), truth


def new_sar_transform(
    sar_grid_xy: np.ndarray,
    reference_xy: np.ndarray,
    reference_transform: Affine,
    reference_crs: CRS,
    sar_transform: Affine,
    sar_crs: CRS,
    kind: ModelKind,
) -> Affine:
    """Fit the SAR's geotransform from its pixels to the true positions of the (inlier) tie points.

    ``sar_grid_xy`` is located in the SAR's own pixels through the current georeferencing; ``reference_xy``
    gives the true map position. For ``translation`` only the offset changes; for ``affine`` all six terms.
    """
    sar_px, truth = locate_in_sar(
        sar_grid_xy, reference_xy, reference_transform, reference_crs, sar_crs, lambda xy: map_points(~sar_transform, xy)
    )
    if kind == "translation":
        linear = np.array([[sar_transform.a, sar_transform.b], [sar_transform.d, sar_transform.e]])
        offset = (truth - sar_px @ linear.T).mean(axis=0)
        return Affine(linear[0, 0], linear[0, 1], offset[0], linear[1, 0], linear[1, 1], offset[1])
    model = fit_least_squares(sar_px, truth, "affine")
    return Affine(*model[0], *model[1])


def fit_global(
    ties: TiePoints,
    overlap_px: Polygon,
    reference_transform: Affine,
    reference_crs: CRS,
    sar_transform: Affine | None,
    sar_crs: CRS,
    kind: TransformKind = "affine",
    gates: FitGates = FitGates(),
    seed: int = 0,
) -> GlobalFit:
    """Robust global fit with quality gates.

    A robust affine (or translation) first; for a richer ``kind`` that model is then fitted to its inliers
    (see :func:`_richer_fit`), and the gates apply to it, its geometry figures to its affine part.

    Args:
        overlap_px: the footprints' overlap in reference-grid pixels (for the spread figures).
        sar_transform: the SAR's geotransform, refitted as ``new_transform`` (affine and translation fits);
            None for a SAR georeferenced by GCPs, whose GCPs are corrected with ``correction.matrix``.
    Raises:
        FitRefusedError: the fit fails a gate; the message lists every failed gate.
    """
    robust_kind: ModelKind = "translation" if kind == "translation" else "affine"
    minimum = max(gates.min_inliers, MINIMAL_SAMPLE[robust_kind] + 1)
    if len(ties) < minimum:
        raise FitRefusedError(
            f"only {len(ties)} tie points were found; at least {minimum} are needed",
            {"gates": dataclasses.asdict(gates), "refusals": [f"{len(ties)} tie points < {minimum}"]},
        )
    robust = msac(ties.sar_grid_xy, ties.reference_xy, robust_kind, gates.inlier_threshold_px, seed=seed,
                  weights=ties.score)
    inl, residuals, affine, fitted = robust.inliers, robust.residuals, robust.model, robust_kind
    model, selection, fitter = None, None, least_squares(robust_kind)
    weights = noise_weights(ties.score)
    if kind in (*RICHER, "auto") and inl.sum() >= minimum:
        fitted, model, selection, richer_inliers = _richer_fit(ties, weights, inl, kind, gates.inlier_threshold_px, affine)
        if model is not None:
            inl, fitter = richer_inliers, _refitter(model)
            residuals = np.linalg.norm(model(ties.sar_grid_xy) - ties.reference_xy, axis=1)
            # The global part the gates judge: a local field's own trend (estimated with the field, so
            # that a bend is not read as a rotation), a polynomial's least-squares affine.
            affine = model.affine
    src, dst = ties.sar_grid_xy[inl], ties.reference_xy[inl]
    centre = shapely.centroid(overlap_px)
    pixel_metres = metres_per_pixel(reference_transform, reference_crs, (centre.x, centre.y))
    pixel_m = sum(pixel_metres) / 2
    rmse = float(np.sqrt(np.mean(residuals[inl] ** 2))) if inl.any() else math.nan
    check = _cross_validated_rmse(src, dst, fitter, weights[inl], seed=seed) if inl.sum() >= 10 else math.nan
    hull = MultiPoint(dst).convex_hull if inl.sum() >= 3 else Polygon()
    spread = float(hull.area / overlap_px.area) if overlap_px.area > 0 else 0.0
    cells = _occupied_cells(dst, overlap_px.bounds) if inl.any() else 0
    quality = Quality(
        tie_points=len(ties),
        pixel_size_m=pixel_m,
        inliers=int(inl.sum()),
        inlier_ratio=float(inl.mean()),
        rmse_px=rmse,
        rmse_m=rmse * pixel_m,
        check_rmse_px=check,
        check_rmse_m=check * pixel_m,
        spread=spread,
        cells=cells,
    )
    correction = _correction(affine, reference_transform, pixel_metres, (centre.x, centre.y))
    predicted = model(src) if model is not None else apply(affine, src)
    largest_shift = float(np.abs(predicted - src).max()) if inl.any() else 0.0
    # A local field's trend is known only as well as the field lets the tie points pin it down: its rotation
    # and scale are refused when they lie beyond the gates by more than GATE_STANDARD_ERRORS of their own
    # standard error (a bend of a few pixels over a small scene turns the trend by a share of a degree).
    uncertainty = GATE_STANDARD_ERRORS * model.inner.linear_standard_error if model is not None and model.name == "local" else 0.0
    refusals = _refusals(quality, gates, robust_kind) + _geometry_refusals(correction, largest_shift, gates, uncertainty)
    if refusals:
        raise FitRefusedError(
            "the fit is not trustworthy: " + "; ".join(refusals),
            {
                "gates": dataclasses.asdict(gates),
                "refusals": refusals,
                "quality": dataclasses.asdict(quality),
                "correction": {
                    "shift_px": list(correction.shift_px),
                    "rotation_deg": list(correction.axis_rotations_deg),
                    "scale": list(correction.scale),
                    "largest_shift_px": largest_shift,
                },
                "inliers": inl.tolist(),
                "residuals_px": residuals.tolist(),
            },
        )
    return GlobalFit(
        kind=fitted,
        model=affine,
        inliers=inl,
        residuals_px=residuals,
        quality=quality,
        correction=correction,
        new_transform=None
        if sar_transform is None or model is not None
        else new_sar_transform(src, dst, reference_transform, reference_crs, sar_transform, sar_crs, robust_kind),
        field=model,
        selection=selection,
    )


def suggested_max_shift(shift_px: float) -> int:
    """A ``--max-shift`` that reaches twice ``shift_px``, rounded up to tens of pixels."""
    return int(math.ceil(2 * shift_px / 10.0) * 10)


def _geometry_refusals(c: Correction, largest_shift_px: float, gates: FitGates, uncertainty: float = 0.0) -> list[str]:
    """Gates on what the correction does: rotation and scale of a north-up product, and shifts beyond the
    search. ``uncertainty`` (radians, unitless for scale): how far beyond the rotation and scale gates
    the correction may lie before it is refused (its own standard errors, for a local field's trend)."""
    reasons = []
    # The allowance never exceeds GATE_ALLOWANCE_SHARE of a gate: a field so loose that it could take up
    # any rotation must not let wrong tie points through.
    rotation_allowance = min(math.degrees(uncertainty), GATE_ALLOWANCE_SHARE * gates.max_rotation_deg)
    scale_allowance = min(uncertainty, GATE_ALLOWANCE_SHARE * gates.max_scale_change)
    rotation = max(c.axis_rotations_deg, key=abs)
    if abs(rotation) - rotation_allowance > gates.max_rotation_deg:
        beyond = f", beyond its uncertainty ±{rotation_allowance:.2f}°" if uncertainty else ""
        reasons.append(
            f"rotation {rotation:+.2f}° exceeds --max-rotation {gates.max_rotation_deg:g}°{beyond} "
            "(north-up products differ by a tiny rotation; this one comes from wrong tie points)"
        )
    scale_change = max((s - 1.0 for s in c.scale), key=abs)
    if abs(scale_change) - scale_allowance > gates.max_scale_change:
        reasons.append(
            f"scale change {scale_change:+.2%} exceeds --max-scale-change {gates.max_scale_change * 100:g}% "
            f"(scales x{c.scale[0]:.4f}, x{c.scale[1]:.4f})"
        )
    if reasons:
        reasons.append("where the data support only a shift (small inputs, a GRD's offset), --transform translation fits that alone")
    if gates.max_shift_px is not None and largest_shift_px > gates.max_shift_px:
        reasons.append(
            f"the correction moves tie points by up to {largest_shift_px:.1f} px, beyond the --max-shift "
            f"{gates.max_shift_px:g} px searched, where matches cannot be trusted; rerun with "
            f"--max-shift {suggested_max_shift(largest_shift_px)}"
        )
    return reasons


def _refusals(q: Quality, gates: FitGates, kind: ModelKind) -> list[str]:
    reasons = []
    if q.inliers < gates.min_inliers:
        reasons.append(f"{q.inliers} inliers < {gates.min_inliers}")
    if not q.rmse_px <= gates.max_rmse_px:
        reasons.append(f"inlier RMSE {q.rmse_px:.2f} px > {gates.max_rmse_px} px")
    if math.isfinite(q.check_rmse_px) and q.check_rmse_px > gates.max_rmse_px:
        reasons.append(f"held-out RMSE {q.check_rmse_px:.2f} px > {gates.max_rmse_px} px")
    if kind == "affine" and (q.spread < gates.min_spread or q.cells < gates.min_cells):
        reasons.append(
            f"inliers clustered (hull {q.spread:.0%} of the overlap, {q.cells}/9 cells; need "
            f"{gates.min_spread:.0%} and {gates.min_cells})"
        )
    return reasons
