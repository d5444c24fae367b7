"""Losses of the learned matchers, between optical and SAR maps at corresponding pixels.

Coordinates are pixel (x, y), corners at integers; ``warps`` (B, 2, 3) map an optical crop pixel to the
corresponding SAR crop pixel.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def sample_descriptors(descriptors: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Bilinear descriptors at points: (B, C, H, W) and (B, N, 2) pixel (x, y), corners at integers → (B, N, C)."""
    h, w = descriptors.shape[-2:]
    grid = torch.stack([points[..., 0] / w * 2 - 1, points[..., 1] / h * 2 - 1], dim=-1)[:, :, None]
    return F.grid_sample(descriptors, grid, mode="bilinear", align_corners=False)[..., 0].transpose(1, 2)


def warp_points(warps: torch.Tensor, points: torch.Tensor) -> torch.Tensor:
    """Optical crop points (B, N, 2) → SAR crop points (B, N, 2) through ``warps`` (B, 2, 3)."""
    return torch.einsum("bij,bnj->bni", warps[:, :, :2], points) + warps[:, None, :, 2]


def random_points(batch: int, points: int, size: int, border: int, device: torch.device, generator: torch.Generator | None = None) -> torch.Tensor:
    """(B, N, 2) uniform random pixel positions at least ``border`` px inside a size × size crop."""
    return border + torch.rand(batch, points, 2, generator=generator, device=device) * (size - 2 * border)


def infonce(d_opt: torch.Tensor, d_sar: torch.Tensor, positions: torch.Tensor, temperature: float, exclusion_px: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Symmetric InfoNCE: (B, N, C) descriptors of N corresponding points, their optical positions (B, N, 2).

    Other points closer than ``exclusion_px`` to a positive are not used as its negatives (they are
    near-duplicates of it, not distinct places). Returns the loss and the top-1 accuracy (the share of
    points whose best SAR match is their own).
    """
    b, n, _ = d_opt.shape
    logits = torch.einsum("bnc,bmc->bnm", d_opt, d_sar) / temperature
    near = torch.cdist(positions, positions) < exclusion_px
    eye = torch.eye(n, dtype=torch.bool, device=d_opt.device)[None]
    logits = logits.masked_fill(near & ~eye, float("-inf"))
    target = torch.arange(n, device=d_opt.device).expand(b, n).flatten()
    loss = 0.5 * (F.cross_entropy(logits.flatten(0, 1), target) + F.cross_entropy(logits.transpose(1, 2).flatten(0, 1), target))
    accuracy = (logits.argmax(dim=2).flatten() == target).float().mean()
    return loss, accuracy


def local_offsets(radius: int, device: torch.device) -> torch.Tensor:
    """((2r + 1)², 2) integer (dx, dy) offsets in [-r, r]², row-major in dy; the centre is entry (2r + 1)² // 2."""
    steps = torch.arange(-radius, radius + 1, device=device, dtype=torch.float32)
    dy, dx = torch.meshgrid(steps, steps, indexing="ij")
    return torch.stack([dx.ravel(), dy.ravel()], dim=1)


def local_window_loss(
    d_opt: torch.Tensor, sar: torch.Tensor, q: torch.Tensor, radius: int, temperature: float, tolerance_px: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Peak sharpening: each optical descriptor against the SAR descriptors at every integer offset within
    ±``radius`` px of its true position; cross-entropy with a target centred on the true position.

    This is how the matchers use descriptors (a local search around a predicted position), so it trains
    the correlation peak to be narrow and in the right place, which global InfoNCE alone does not. The
    target is a Gaussian of ``tolerance_px`` around the true position rather than a single pixel: the
    training pairs' alignment is itself only known to a pixel or two, and a one-pixel target would
    punish the network for that error.

    Args:
        d_opt: (B, N, C) optical descriptors; sar: (B, C, H, W) SAR descriptor map; q: (B, N, 2) true
            SAR positions.
    Returns:
        The loss and, per point, the probability the network gives to within 1.5 px of the true
        position (B, N).
    """
    offsets = local_offsets(radius, sar.device)
    b, n, _ = q.shape
    candidates = (q[:, :, None, :] + offsets[None, None]).flatten(1, 2)  # (B, N·K, 2)
    d_local = sample_descriptors(sar, candidates).view(b, n, len(offsets), -1)
    logits = torch.einsum("bnc,bnkc->bnk", d_opt, d_local) / temperature
    distance2 = (offsets**2).sum(dim=1)
    target = torch.softmax(-distance2 / (2 * tolerance_px**2), dim=0)
    loss = -(target * logits.log_softmax(dim=-1)).sum(dim=-1).mean()
    near = distance2 <= 1.5**2
    return loss, logits.softmax(dim=-1)[..., near].sum(dim=-1)
