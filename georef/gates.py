"""What a fit is asked for (``--transform``) and the gates it must pass; light, so that option checks and
``--help`` need none of the fitting's libraries."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

# What ``--transform`` may ask for: one affine or a translation (the default family), a global polynomial
# of order 2 or 3, a smooth local field over the affine (see georef.smooth_models), or ``auto``: the
# simplest of affine, polynomials and local field that predicts held-out tie points as well as the best
# (see georef.model_selection).
TransformKind = Literal["affine", "translation", "polynomial2", "polynomial3", "local", "auto"]


@dataclass(frozen=True)
class FitGates:
    """Thresholds a fit must pass before anything is written.

    Sentinel-1 and Sentinel-2 products are both north-up map products: the correction between them is a
    shift of up to a few hundred metres with a tiny rotation and scale. A fitted rotation or scale change
    far beyond that comes from wrong tie points, not from the data, and is refused.
    """

    inlier_threshold_px: float = 5.0
    min_inliers: int = 20
    max_rmse_px: float = 3.0
    min_spread: float = 0.1  # inliers' convex hull area / overlap area
    min_cells: int = 3  # of the 3 × 3 cells over the overlap's bounds, how many must hold inliers
    max_rotation_deg: float = 1.0  # of either map axis (a shear turns the two axes differently)
    max_scale_change: float = 0.02  # |scale − 1| along either map axis
    # The largest shift the matcher searched for (reference pixels): a correction that moves a tie point
    # further came from beyond the search, where the matches cannot be trusted. None: not checked.
    max_shift_px: float | None = None
