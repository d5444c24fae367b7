"""Normalised cross-correlation of dense descriptors, computed with FFTs, vectorised over templates.

A template (C, Th, Tw) is compared with every Th×Tw window of a search region (C, Th + 2r, Tw + 2r) at
integer displacements in [-r, r]² (a displacement of (0, 0) puts the template on the region's centre). The
score is the zero-mean NCC over all C·Th·Tw values, in [-1, 1].
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from scipy.fft import next_fast_len


def fast_fft_size(n: int) -> int:
    """The smallest integer ≥ ``n`` whose only prime factors are 2, 3 and 5 (fast sizes for real FFTs)."""
    return next_fast_len(n, real=True)


def _window_sums(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Sums of ``x`` (N, P, Q) over every height×width window: (N, P - height + 1, Q - width + 1)."""
    integral = torch.nn.functional.pad(x.cumsum(-1).cumsum(-2), (1, 0, 1, 0))
    return (
        integral[:, height:, width:]
        - integral[:, :-height, width:]
        - integral[:, height:, :-width]
        + integral[:, :-height, :-width]
    )


# Templates per FFT batch on the CPU. The spectra of a few templates (4 × 9 channels × 150 × 76 complex
# values: 3 MB) stay in the cache, and the whole is 2–3× faster than one batch of a tile's hundreds of
# templates, whose spectra (hundreds of MB) stream through memory several times. GPUs take one batch.
CPU_TEMPLATES_PER_BATCH = 4


def ncc_surfaces(templates: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """NCC of each template with its own search region at every displacement.

    Args:
        templates: (N, C, Th, Tw) float.
        regions: (N, C, Th + 2r, Tw + 2r) float.
    Returns:
        (N, 2r + 1, 2r + 1) NCC; entry [n, r + dy, r + dx] scores displacement (dx, dy) in pixels.
    """
    if templates.device.type != "cpu" or len(templates) <= CPU_TEMPLATES_PER_BATCH:
        return _ncc_surfaces_batch(templates, regions)
    return torch.cat([
        _ncc_surfaces_batch(templates[i : i + CPU_TEMPLATES_PER_BATCH], regions[i : i + CPU_TEMPLATES_PER_BATCH])
        for i in range(0, len(templates), CPU_TEMPLATES_PER_BATCH)
    ])


def _ncc_surfaces_batch(templates: torch.Tensor, regions: torch.Tensor) -> torch.Tensor:
    """:func:`ncc_surfaces` of one batch."""
    _, c, th, tw = templates.shape
    ph, pw = regions.shape[-2:]
    count = c * th * tw
    centred = templates - templates.mean(dim=(1, 2, 3), keepdim=True)
    t_norm = centred.flatten(1).norm(dim=1).clamp_min(1e-12)
    # Cross-correlation theorem. Padding to any size ≥ P keeps wrap-around away from the kept displacements
    # (P = T + 2r); sizes with only small prime factors make the FFTs several times faster.
    fh, fw = fast_fft_size(ph), fast_fft_size(pw)
    spectrum = torch.fft.rfft2(regions, s=(fh, fw)) * torch.fft.rfft2(centred, s=(fh, fw)).conj()
    corr = torch.fft.irfft2(spectrum.sum(dim=1), s=(fh, fw))[:, : ph - th + 1, : pw - tw + 1]
    sums = _window_sums(regions.sum(dim=1), th, tw)
    squares = _window_sums((regions * regions).sum(dim=1), th, tw)
    r_var = (squares - sums * sums / count).clamp_min(0)
    return corr / (t_norm.view(-1, 1, 1) * r_var.sqrt().clamp_min(1e-6))


@dataclass(frozen=True)
class Peaks:
    """Best displacement per surface (pixels, sub-pixel), its NCC, and the best NCC away from it."""

    dx: torch.Tensor  # (N,)
    dy: torch.Tensor  # (N,)
    peak: torch.Tensor  # (N,)
    second: torch.Tensor  # (N,)
    bracketed: torch.Tensor  # (N,) bool: the peak is inside the search range, not on its border


def find_peaks(surfaces: torch.Tensor, exclusion: int = 3) -> Peaks:
    """Locate each surface's maximum with sub-pixel refinement (a parabola through 3 samples per axis).

    Args:
        surfaces: (N, 2r + 1, 2r + 1) from :func:`ncc_surfaces`.
        exclusion: radius (pixels) around the peak ignored when looking for the second-best peak.
    """
    n, size, _ = surfaces.shape
    r = (size - 1) // 2
    flat = surfaces.flatten(1)
    peak, index = flat.max(dim=1)
    iy, ix = index // size, index % size
    bracketed = (ix > 0) & (ix < size - 1) & (iy > 0) & (iy < size - 1)
    rows = torch.arange(n, device=surfaces.device)
    cx, cy = ix.clamp(1, size - 2), iy.clamp(1, size - 2)

    def offset(minus: torch.Tensor, centre: torch.Tensor, plus: torch.Tensor) -> torch.Tensor:
        curvature = minus - 2 * centre + plus
        step = 0.5 * (minus - plus) / torch.where(curvature < 0, curvature, torch.full_like(curvature, -1e-9))
        return step.clamp(-0.5, 0.5)

    sub_x = offset(surfaces[rows, cy, cx - 1], surfaces[rows, cy, cx], surfaces[rows, cy, cx + 1])
    sub_y = offset(surfaces[rows, cy - 1, cx], surfaces[rows, cy, cx], surfaces[rows, cy + 1, cx])
    grid_y = torch.arange(size, device=surfaces.device).view(1, -1, 1)
    grid_x = torch.arange(size, device=surfaces.device).view(1, 1, -1)
    near = ((grid_y - iy.view(-1, 1, 1)).abs() <= exclusion) & ((grid_x - ix.view(-1, 1, 1)).abs() <= exclusion)
    second = surfaces.masked_fill(near, -1.0).flatten(1).max(dim=1).values
    return Peaks(
        dx=(ix - r).to(surfaces.dtype) + torch.where(bracketed, sub_x, torch.zeros_like(sub_x)),
        dy=(iy - r).to(surfaces.dtype) + torch.where(bracketed, sub_y, torch.zeros_like(sub_y)),
        peak=peak,
        second=second,
        bracketed=bracketed,
    )
