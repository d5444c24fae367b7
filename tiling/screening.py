"""Screening: tiles with too little valid data or too little structure are not matched.

Structure is the mean gradient magnitude of the [0, 1]-scaled image over valid pixels (units: scaled
grey levels per pixel); water and flat fields score near zero, built-up and varied land well above.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sarlign.tiling.reading import TilePair


@dataclass(frozen=True)
class ScreeningThresholds:
    """Minimum valid fraction (0–1) of each image, and minimum structure of each image."""

    min_valid_fraction: float = 0.5
    min_structure: float = 0.015


@dataclass(frozen=True)
class Screening:
    """Outcome for one tile: whether to match it, why not, and the figures behind the decision."""

    accepted: bool
    reason: str
    valid_fraction: float
    reference_structure: float
    sar_structure: float


def structure(image: np.ndarray, valid: np.ndarray) -> float:
    """Mean gradient magnitude of ``image`` (H, W) over pixels whose 3×3 neighbourhood is valid."""
    gy, gx = np.gradient(image)
    inner = valid.copy()
    inner[1:-1, 1:-1] &= valid[:-2, 1:-1] & valid[2:, 1:-1] & valid[1:-1, :-2] & valid[1:-1, 2:]
    inner[[0, -1], :] = False
    inner[:, [0, -1]] = False
    if not inner.any():
        return 0.0
    return float(np.hypot(gx, gy)[inner].mean())


def screen(pair: TilePair, thresholds: ScreeningThresholds) -> Screening:
    """Decide whether a tile pair is worth matching."""
    m = pair.margin
    h, w = pair.reference.shape
    sar_core_valid = pair.sar_valid[m : m + h, m : m + w]
    valid_fraction = float(np.mean(pair.reference_valid & sar_core_valid))
    ref_structure = structure(pair.reference, pair.reference_valid)
    sar_structure = structure(pair.sar, pair.sar_valid)
    reason = ""
    if valid_fraction < thresholds.min_valid_fraction:
        reason = f"valid data {valid_fraction:.0%} < {thresholds.min_valid_fraction:.0%}"
    elif ref_structure < thresholds.min_structure:
        reason = f"reference too flat (structure {ref_structure:.4f} < {thresholds.min_structure})"
    elif sar_structure < thresholds.min_structure:
        reason = f"SAR too flat (structure {sar_structure:.4f} < {thresholds.min_structure})"
    return Screening(not reason, reason, valid_fraction, ref_structure, sar_structure)
