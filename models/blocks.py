"""Building blocks shared by the learned models: the fixed structural prior and modality-specific stems.

The prior is the HSCP "structural cognition prior" / SOMA "gradient enhancer" idea: the network starts
from the image's gradient magnitudes on several orientations in [0, π) (contrast-reversal invariant, as
in CFOG) plus the image itself, instance-normalised so that no absolute radiometry reaches it.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from sarlign.models.structural import gaussian, oriented_gradients

MODALITIES = ("optical", "sar")


def structural_prior(image: torch.Tensor, modality: str, orientations: int, sar_presmooth: float) -> torch.Tensor:
    """(B, 1, H, W) image in [0, 1] → (B, orientations + 1, H, W) instance-normalised prior channels.

    SAR is smoothed first (Gaussian, ``sar_presmooth`` px; 0 disables) so speckle does not dominate.
    """
    if modality == "sar" and sar_presmooth > 0:
        image = gaussian(image, sar_presmooth)
    channels = torch.cat([oriented_gradients(image, orientations), image], dim=1)
    return F.instance_norm(channels)


def stem(channels: int, width: int) -> nn.Sequential:
    """Two 3 × 3 convolutions with ReLU, spatial size kept."""
    return nn.Sequential(
        nn.Conv2d(channels, width, 3, padding=1, padding_mode="replicate"),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, width, 3, padding=1, padding_mode="replicate"),
        nn.ReLU(inplace=True),
    )


def modality_stems(channels: int, width: int) -> nn.ModuleDict:
    """One :func:`stem` per modality: optical and SAR get their own first layers (pseudo-Siamese)."""
    return nn.ModuleDict({m: stem(channels, width) for m in MODALITIES})


def dilated_encoder(width: int) -> nn.Sequential:
    """Two dilated 3 × 3 convolutions (dilation 2 and 4; receptive field grows by 12 px), size kept."""
    return nn.Sequential(
        nn.Conv2d(width, width, 3, padding=2, dilation=2, padding_mode="replicate"),
        nn.ReLU(inplace=True),
        nn.Conv2d(width, width, 3, padding=4, dilation=4, padding_mode="replicate"),
        nn.ReLU(inplace=True),
    )
