"""The classical structural matcher: CFOG descriptors with coarse-to-fine FFT template matching.

Dense CFOG descriptors of both tiles (the SAR pre-smoothed against speckle), matched by the shared
engine of :mod:`sarlign.models.dense_matching`. No weights: it works out of the box and is the fallback
and baseline for the learned matchers.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from sarlign.models.dense_matching import DenseTemplateMatcher
from sarlign.models.registry import register
from sarlign.models.structural import cfog_descriptor


@register("cfog", "Oriented-gradient structural descriptors (CFOG) + FFT template matching; classical, no weights")
@dataclass
class CfogMatcher(DenseTemplateMatcher):
    """CFOG descriptors: ``orientations`` channels, spatial smoothing ``sigma`` px, SAR pre-smoothing px."""

    orientations: int = 9
    sigma: float = 1.5
    sar_presmooth: float = 2.0
    name: str = "cfog"

    def describe(self, reference: torch.Tensor, sar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, H, W) images → (B, K, H, W) CFOG descriptors each."""
        return (
            cfog_descriptor(reference, self.orientations, self.sigma),
            cfog_descriptor(sar, self.orientations, self.sigma, self.sar_presmooth),
        )
