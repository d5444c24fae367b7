"""Dense oriented-gradient structural descriptors (the CFOG family, Ye et al., TGRS 2019).

Each pixel gets the magnitudes of the image gradient projected on K orientations in [0, π) — absolute
values, so a contrast reversal between optical and SAR gives the same descriptor — smoothed in space by
a Gaussian and across orientation by a [1, 2, 1] kernel (circular), then L2-normalised over the K
channels. Invariant to the non-linear radiometric differences between optical and SAR, sensitive to
shape.
"""

from __future__ import annotations

import math

import kornia
import torch
import torch.nn.functional as F


def oriented_gradients(image: torch.Tensor, orientations: int = 9) -> torch.Tensor:
    """|∂I/∂θ| for ``orientations`` angles θ = kπ/K.

    Args:
        image: (B, 1, H, W) float.
    Returns:
        (B, K, H, W) non-negative gradient magnitudes per orientation (grey levels per pixel).
    """
    grad = kornia.filters.spatial_gradient(image, mode="sobel", order=1, normalized=True)  # (B, 1, 2, H, W)
    gx, gy = grad[:, :, 0], grad[:, :, 1]
    theta = torch.arange(orientations, dtype=image.dtype, device=image.device) * (math.pi / orientations)
    cos, sin = torch.cos(theta).view(1, -1, 1, 1), torch.sin(theta).view(1, -1, 1, 1)
    return (gx * cos + gy * sin).abs()


def cfog_descriptor(
    image: torch.Tensor,
    orientations: int = 9,
    sigma: float = 0.8,
    presmooth: float = 0.0,
    eps: float = 1e-3,
) -> torch.Tensor:
    """Channel features of orientated gradients.

    Args:
        image: (B, 1, H, W) float, grey levels scaled to about [0, 1].
        orientations: K, the number of orientation channels.
        sigma: standard deviation (pixels) of the spatial Gaussian applied to each channel.
        presmooth: standard deviation (pixels) of a Gaussian applied to the image first (0: none); damps
            speckle before differentiation.
        eps: added to the channel norm so flat areas fade to zero instead of amplifying noise.
    Returns:
        (B, K, H, W) float descriptors, L2 norm ≤ 1 along K.
    """
    if presmooth > 0:
        image = gaussian(image, presmooth)
    channels = oriented_gradients(image, orientations)
    channels = gaussian(channels, sigma)
    # Smooth across orientation with a circular [1, 2, 1] / 4 kernel (orientation is periodic in π).
    channels = 0.25 * torch.roll(channels, 1, dims=1) + 0.5 * channels + 0.25 * torch.roll(channels, -1, dims=1)
    return channels / (channel_norm(channels) + eps)


def channel_norm(x: torch.Tensor) -> torch.Tensor:
    """L2 norm of (B, C, H, W) along C: (B, 1, H, W).

    Written as the root of a channel sum because ``Tensor.norm(dim=1)`` on this layout is about 20×
    slower on CPU (measured, torch 2.13): it was a third of the classical matcher's time per tile.
    """
    return (x * x).sum(dim=1, keepdim=True).sqrt()


def unit_channels(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) scaled to unit L2 norm along C (as ``F.normalize(x, dim=1)``, faster; see :func:`channel_norm`)."""
    return x / channel_norm(x).clamp_min(1e-12)


def gaussian(x: torch.Tensor, sigma: float) -> torch.Tensor:
    """Gaussian blur of (B, C, H, W) with standard deviation ``sigma`` pixels (kernel radius 3σ)."""
    radius = max(1, math.ceil(3 * sigma))
    return kornia.filters.gaussian_blur2d(x, (2 * radius + 1, 2 * radius + 1), (sigma, sigma), border_type="replicate")


def average_pool(x: torch.Tensor, factor: int) -> torch.Tensor:
    """Downsample (B, C, H, W) by an integer factor with box averaging (H, W cropped to multiples)."""
    return F.avg_pool2d(x, factor) if factor > 1 else x
