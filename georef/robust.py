"""Robust estimation of a 2-D affine or translation from point correspondences.

Models are (2, 3) matrices ``M`` with ``dst ≈ M @ [x, y, 1]``. Hypotheses come from random minimal samples,
scored all at once with the MSAC cost (squared residuals truncated at the threshold), then the best one is
polished by least squares on its inliers until the inlier set stops changing (local optimisation).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

ModelKind = Literal["affine", "translation"]
MINIMAL_SAMPLE = {"affine": 3, "translation": 1}


def apply(model: np.ndarray, points: np.ndarray) -> np.ndarray:
    """Map (N, 2) points through a (2, 3) model."""
    return points @ model[:, :2].T + model[:, 2]


def fit_least_squares(src: np.ndarray, dst: np.ndarray, kind: ModelKind) -> np.ndarray:
    """Least-squares (2, 3) model from (N, 2) ``src`` to (N, 2) ``dst`` (coordinates centred for conditioning)."""
    if kind == "translation":
        return np.hstack([np.eye(2), (dst - src).mean(axis=0)[:, None]])
    src_c, dst_c = src.mean(axis=0), dst.mean(axis=0)
    design = src - src_c
    linear, *_ = np.linalg.lstsq(design, dst - dst_c, rcond=None)  # (2, 2): dst - dst_c ≈ design @ linear
    a = linear.T
    return np.hstack([a, (dst_c - a @ src_c)[:, None]])


def _hypotheses(src: np.ndarray, dst: np.ndarray, kind: ModelKind, count: int, rng: np.random.Generator) -> np.ndarray:
    """(count, 2, 3) models from random minimal samples; degenerate samples give NaN models."""
    n = len(src)
    k = MINIMAL_SAMPLE[kind]
    idx = np.stack([rng.choice(n, size=k, replace=False) for _ in range(count)])
    if kind == "translation":
        shift = dst[idx[:, 0]] - src[idx[:, 0]]
        models = np.zeros((count, 2, 3))
        models[:, 0, 0] = models[:, 1, 1] = 1.0
        models[:, :, 2] = shift
        return models
    design = np.concatenate([src[idx], np.ones((count, 3, 1))], axis=2)  # (count, 3, 3)
    ok = np.abs(np.linalg.det(design)) > 1e-6
    models = np.full((count, 2, 3), np.nan)
    models[ok] = np.linalg.solve(design[ok], dst[idx[ok]]).transpose(0, 2, 1)
    return models


@dataclass(frozen=True)
class RobustFit:
    """The polished model, the inlier mask (N,) and every point's residual (N,) in ``dst`` units."""

    model: np.ndarray
    inliers: np.ndarray
    residuals: np.ndarray


def msac(
    src: np.ndarray,
    dst: np.ndarray,
    kind: ModelKind = "affine",
    threshold: float = 3.0,
    iterations: int = 2000,
    seed: int = 0,
    weights: np.ndarray | None = None,
) -> RobustFit:
    """Robust fit of ``dst ≈ M @ [src, 1]``; inliers have a residual below ``threshold``.

    ``weights`` (N,) scale each point's MSAC cost, so confident matches count for more when hypotheses
    are ranked. The result is deterministic for a given ``seed``.

    Raises:
        ValueError: fewer points than a minimal sample.
    """
    n = len(src)
    if n < MINIMAL_SAMPLE[kind]:
        raise ValueError(f"{n} correspondences; a {kind} fit needs at least {MINIMAL_SAMPLE[kind]}")
    rng = np.random.default_rng(seed)
    w = np.ones(n) if weights is None else np.asarray(weights, dtype=float)
    best_cost, best = np.inf, None
    for start in range(0, iterations, 500):  # chunks bound memory at 500 × N residuals
        models = _hypotheses(src, dst, kind, min(500, iterations - start), rng)
        predicted = np.einsum("hij,nj->hni", models[:, :, :2], src) + models[:, None, :, 2]
        squared = ((predicted - dst[None]) ** 2).sum(axis=2)
        cost = (np.minimum(np.nan_to_num(squared, nan=np.inf), threshold**2) * w).sum(axis=1)
        i = int(np.argmin(cost))
        if cost[i] < best_cost:
            best_cost, best = cost[i], models[i]
    if best is None or not np.isfinite(best).all():
        raise ValueError("no non-degenerate sample: the points are collinear")
    inliers = np.linalg.norm(apply(best, src) - dst, axis=1) < threshold
    for _ in range(10):
        if inliers.sum() < MINIMAL_SAMPLE[kind]:
            break
        best = fit_least_squares(src[inliers], dst[inliers], kind)
        updated = np.linalg.norm(apply(best, src) - dst, axis=1) < threshold
        if np.array_equal(updated, inliers):
            break
        inliers = updated
    residuals = np.linalg.norm(apply(best, src) - dst, axis=1)
    return RobustFit(best, residuals < threshold, residuals)
