"""Held-out errors of a model fitted to tie points, with spatially blocked folds.

Neighbouring tie points share their error (the same structure, the same distortion), so a fold of
randomly chosen points leaks: the model sees a held-out point's neighbours and looks better than it is.
Here the points' bounding box is cut into ``BLOCKS`` × ``BLOCKS`` cells and whole cells are held out
together, cell (i, j) in fold (i + BLOCKS·j) mod ``FOLDS``. Points are (N, 2) reference-grid pixels.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

BLOCKS = 4
FOLDS = 5
Model = Callable[[np.ndarray], np.ndarray]  # (N, 2) → (N, 2)
# Fits a model to (N, 2) src → dst with (N,) relative noise variances (1: a tie point of median score; the
# local field weighs its tie points by them, least-squares models weigh all alike).
Fitter = Callable[[np.ndarray, np.ndarray, np.ndarray], Model]


def blocked_folds(points: np.ndarray, blocks: int = BLOCKS, folds: int = FOLDS) -> list[np.ndarray]:
    """Index arrays of the points held out in each fold (each point in exactly one fold)."""
    low, high = points.min(axis=0), points.max(axis=0)
    cell = np.clip(((points - low) / np.maximum(high - low, 1e-9) * blocks).astype(int), 0, blocks - 1)
    fold = (cell[:, 0] + blocks * cell[:, 1]) % folds
    return [np.flatnonzero(fold == k) for k in range(folds) if (fold == k).any()]


def held_out_errors(
    src: np.ndarray, dst: np.ndarray, fit: Fitter, folds: list[np.ndarray], weights: np.ndarray | None = None
) -> np.ndarray:
    """(N,) distance (px) between each point's ``dst`` and the prediction of a model ``fit`` without its
    fold (``weights`` (N,): see :data:`Fitter`; None: all 1); NaN where that fit failed (too few points
    left)."""
    weights = np.ones(len(src)) if weights is None else weights
    errors = np.full(len(src), np.nan)
    for held in folds:
        kept = np.setdiff1d(np.arange(len(src)), held)
        try:
            model = fit(src[kept], dst[kept], weights[kept])
        except (ValueError, np.linalg.LinAlgError):
            continue
        errors[held] = np.linalg.norm(model(src[held]) - dst[held], axis=1)
    return errors
