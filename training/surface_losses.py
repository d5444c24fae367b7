"""Losses on the template engine's own NCC surfaces (:func:`sarlign.models.template_matching.ncc_surfaces`).

A template cut from the optical descriptor map is searched ±r px in the SAR descriptor map exactly as the
matcher does at inference; the surface (N, 2r + 1, 2r + 1) is scored against the known displacement
(dx, dy) px of the SAR content (entry [r + dy, r + dx], see :func:`ncc_surfaces`):

- ``surface_cross_entropy``: softmax(surface / T) against a Gaussian soft label at the displacement — makes
  the peak sharp and in the right place;
- ``peak_error``: the engine's sub-pixel peak (:func:`find_peaks`, a parabola) against the displacement;
- ``relative_peak_error``: label-free — two SAR views of one place with known displacements t₁, t₂; the
  difference of their estimated peaks must equal t₁ − t₂. The pair's alignment error is common to both
  views and cancels, so no dataset alignment enters it.

Peak terms use only surfaces whose integer peak is within ``capture`` px of the truth: elsewhere the
parabola's gradient says nothing about the right peak (the cross-entropy handles those).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from sarlign.models.template_matching import Peaks, find_peaks


def displacement_grid(radius: int, device: torch.device) -> tuple[torch.Tensor, torch.Tensor]:
    """(dx, dy) of every surface entry: two (2r + 1, 2r + 1) float tensors, px."""
    steps = torch.arange(-radius, radius + 1, dtype=torch.float32, device=device)
    dy, dx = torch.meshgrid(steps, steps, indexing="ij")
    return dx, dy


def surface_cross_entropy(surfaces: torch.Tensor, truth: torch.Tensor, temperature: float, sigma: float) -> torch.Tensor:
    """Mean cross-entropy of softmax(surfaces / temperature) against a Gaussian of ``sigma`` px at ``truth``.

    Args:
        surfaces: (N, 2r + 1, 2r + 1) NCC in [-1, 1].
        truth: (N, 2) true (dx, dy) px.
    """
    radius = (surfaces.shape[-1] - 1) // 2
    dx, dy = displacement_grid(radius, surfaces.device)
    distance2 = (dx[None] - truth[:, 0, None, None]) ** 2 + (dy[None] - truth[:, 1, None, None]) ** 2
    target = torch.softmax((-distance2 / (2 * sigma**2)).flatten(1), dim=1)
    return -(target * (surfaces.flatten(1) / temperature).log_softmax(dim=1)).sum(dim=1).mean()


def peak_offsets(peaks: Peaks) -> torch.Tensor:
    """(N, 2) estimated (dx, dy) px of :class:`Peaks`."""
    return torch.stack([peaks.dx, peaks.dy], dim=1)


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean of (N,) ``values`` where ``mask``; 0 (still in the graph) where nothing is selected."""
    return (values * mask).sum() / mask.sum().clamp_min(1)


def peak_error(surfaces: torch.Tensor, truth: torch.Tensor, capture: float = 1.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean smooth-L1 (px) between the engine's sub-pixel peaks and ``truth`` (N, 2), over the surfaces
    whose peak is bracketed and within ``capture`` px; and the share of surfaces that are (the hit rate)."""
    peaks = find_peaks(surfaces)
    error = peak_offsets(peaks) - truth
    captured = peaks.bracketed & (error.detach().abs().amax(dim=1) <= capture)
    per_surface = F.smooth_l1_loss(error, torch.zeros_like(error), reduction="none", beta=0.5).sum(dim=1)
    return _masked_mean(per_surface, captured), captured.float().mean()


def relative_peak_error(surfaces: torch.Tensor, shifts: torch.Tensor, capture: float = 1.5) -> tuple[torch.Tensor, torch.Tensor]:
    """Label-free: mean smooth-L1 (px) of (peak₁ − peak₀) − (shift₁ − shift₀) over the pairs of views whose
    peaks are bracketed and whose difference is within ``capture`` px of the known one; and its mean
    absolute size (px) over those pairs, a figure to log.

    Args:
        surfaces: (B · 2, 2r + 1, 2r + 1), the two views of each crop consecutive.
        shifts: (B, 2, 2) the known (dx, dy) of each view up to a per-crop constant.
    """
    peaks = find_peaks(surfaces)
    estimated = peak_offsets(peaks).view(-1, 2, 2)
    error = (estimated[:, 1] - estimated[:, 0]) - (shifts[:, 1] - shifts[:, 0])
    bracketed = peaks.bracketed.view(-1, 2).all(dim=1)
    captured = bracketed & (error.detach().abs().amax(dim=1) <= capture)
    per_pair = F.smooth_l1_loss(error, torch.zeros_like(error), reduction="none", beta=0.5).sum(dim=1)
    return _masked_mean(per_pair, captured), _masked_mean(error.detach().norm(dim=1), captured)
