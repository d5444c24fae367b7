"""Dense contrastive loss between optical and SAR descriptors at corresponding pixels."""

from __future__ import annotations

import torch
import torch.nn.functional as F


def sample_descriptors(descriptors: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bilinear descriptors at points: (B, C, H, W) and (B, N, 2) pixel (x, y), corners at integers → (B, N, C)."""
    h, w = descriptors.shape[-2:]
    grid = torch.stack([points[..., 0] / w * 2 - 1, points[..., 1] / h * 2 - 1], dim=-1)[:, :, None]
    return F.grid_sample(descriptors, grid, mode="bilinear", align_corners=False)[..., 0].transpose(1, 2)


def dense_infonce(
    optical: torch.Tensor,
    sar: torch.Tensor,
    warps: torch.Tensor,
    points: int = 256,
    temperature: float = 0.07,
    exclusion_px: float = 6.0,
    border: int = 16,
    generator: torch.Generator | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric InfoNCE over ``points`` random pixels per crop.

    Args:
        optical, sar: (B, C, S, S) unit descriptors.
        warps: (B, 2, 3) optical crop pixel → SAR crop pixel.
        exclusion_px: other points closer than this to a positive are not used as its negatives (they
            are near-duplicates of it, not distinct places).
    Returns:
        The loss (scalar) and the top-1 accuracy: the share of points whose best SAR match is their own.
    """
    b, _, s, _ = optical.shape
    p = border + torch.rand(b, points, 2, generator=generator, device=optical.device) * (s - 2 * border)
    q = torch.einsum("bij,bnj->bni", warps[:, :, :2], p) + warps[:, None, :, 2]
    d_opt = sample_descriptors(optical, p)
    d_sar = sample_descriptors(sar, q)
    logits = torch.einsum("bnc,bmc->bnm", d_opt, d_sar) / temperature
    near = torch.cdist(p, p) < exclusion_px
    eye = torch.eye(points, dtype=torch.bool, device=optical.device)[None]
    logits = logits.masked_fill(near & ~eye, float("-inf"))
    target = torch.arange(points, device=optical.device).expand(b, points)
    loss = 0.5 * (F.cross_entropy(logits.flatten(0, 1), target.flatten()) + F.cross_entropy(logits.transpose(1, 2).flatten(0, 1), target.flatten()))
    accuracy = (logits.argmax(dim=2) == target).float().mean()
    return loss, accuracy
