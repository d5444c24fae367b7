"""A learned dense structural descriptor (HSCP / CFOG lineage), matched by the shared FFT template engine.

Architecture (≈ 30 k parameters, runs on CPU):
- a fixed structural prior: the image's gradient magnitude on ``orientations`` directions in [0, π)
  (contrast-reversal invariant, as in CFOG and HSCP's structural cognition prior) plus the image itself,
  instance-normalised so the network sees no absolute radiometry;
- modality-specific stems (optical, SAR): two 3 × 3 convolutions;
- a shared encoder: two dilated 3 × 3 convolutions (receptive field ≈ 25 px) and a 1 × 1 projection to
  ``dim`` channels, L2-normalised per pixel, at full resolution.

Weights are trained by ``sarlign train dense`` on real Sentinel-1/2 pairs and shipped in
``models/weights/`` with their metadata.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sarlign.models.blocks import dilated_encoder, modality_stems, structural_prior
from sarlign.models.checkpoints import WEIGHTS_DIR, load_weights
from sarlign.models.dense_matching import NetworkTemplateMatcher
from sarlign.models.registry import register
from sarlign.models.structural import unit_channels

DEFAULT_WEIGHTS = WEIGHTS_DIR / "learned_dense_v1.pt"


class DescriptorNet(nn.Module):
    """Image (B, 1, H, W) in [0, 1] and its modality → descriptors (B, dim, H, W), unit L2 norm per pixel."""

    def __init__(self, orientations: int = 8, width: int = 24, dim: int = 16, sar_presmooth: float = 1.0) -> None:
        super().__init__()
        self.config = {"orientations": orientations, "width": width, "dim": dim, "sar_presmooth": sar_presmooth}
        self.stems = modality_stems(orientations + 1, width)
        self.encoder = nn.Sequential(*dilated_encoder(width), nn.Conv2d(width, dim, 1))

    def forward(self, image: torch.Tensor, modality: str) -> torch.Tensor:
        prior = structural_prior(image, modality, self.config["orientations"], self.config["sar_presmooth"])
        return unit_channels(self.encoder(self.stems[modality](prior)))


def load_descriptor_net(path: Path = DEFAULT_WEIGHTS) -> tuple[DescriptorNet, dict[str, Any]]:
    """Shipped weights and their metadata; see :func:`sarlign.models.checkpoints.load_weights`."""
    return load_weights(path, DescriptorNet)


@register("learned-dense", "Learned dense structural descriptors (trained here) + FFT template matching")
@dataclass
class LearnedDenseMatcher(NetworkTemplateMatcher):
    """The learned descriptor, (B, dim, H, W), with the template engine; ``weights`` defaults to the shipped
    file."""

    NETWORK = DescriptorNet
    weights: str = str(DEFAULT_WEIGHTS)
    # The learned descriptors vary smoothly, so NCC surfaces are broad and a second peak a few pixels
    # away is nearly as high as the first: the ratio test would reject every template. Outliers are
    # left to the robust global fit instead.
    max_peak_ratio: float = 1.0
    name: str = "learned-dense"
