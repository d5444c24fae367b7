"""Training pairs in memory, random augmented crops with known dense correspondence, and patch pairs
(matching and shifted) for the verifier.

Images are scaled as the pipeline scales them (per band 2–98 % range; SAR in dB first), so the network
sees at training time what it sees when registering. Coordinates are pixel (x, y), corners at integers.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from rasterio.errors import NotGeoreferencedWarning

from sarlign.models.patch_verifier import PATCH
from sarlign.models.structural import gaussian
from sarlign.tiling.scaling import band_scaling
from sarlign.training.volkov import load_pairs, open_png


@dataclass(frozen=True)
class TrainingPair:
    """One pair: optical and SAR (1, H, W) float32 in [0, 1], and the (2, 3) SAR → optical pixel affine."""

    pair_id: str
    optical: torch.Tensor
    sar: torch.Tensor
    sar_to_optical: np.ndarray


def _scaled(path: Path, sar: bool) -> torch.Tensor:
    with open_png(path) as src:
        data = src.read()[:1] if sar else src.read()
        count = 1 if sar else src.count
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        scalings = [band_scaling(str(path), b, None, "SAR" if sar else "optical", "auto" if sar else None) for b in range(1, count + 1)]
    unit = np.mean([s.to_unit(band) for s, band in zip(scalings, data)], axis=0)
    return torch.from_numpy(unit.astype(np.float32))[None]


def load_training_pairs(folder: Path, alignments: dict | None = None) -> list[TrainingPair]:
    """All pairs of ``folder``; with ``alignments`` (see :mod:`sarlign.training.alignment`) the refined
    alignment, without it the stated one (identity). Pairs whose refinement was refused are left out."""
    from sarlign.training.alignment import sar_to_optical

    pairs = []
    identity = np.array([[1.0, 0, 0], [0, 1.0, 0]])
    for pair in load_pairs(folder, nominal_grid=True):
        affine = identity if alignments is None else sar_to_optical(alignments, pair.pair_id)
        if affine is None:
            continue
        pairs.append(TrainingPair(pair.pair_id, _scaled(pair.optical, False), _scaled(pair.sar, True), affine))
    return pairs


@dataclass(frozen=True)
class Augmentation:
    """Random geometric warp of the SAR crop and radiometric changes (0 disables each)."""

    rotation_deg: float = 5.0
    scale: float = 0.05
    optical_gamma: float = 0.3  # gamma drawn from [1 - g, 1 + g]
    sar_noise: float = 0.05  # std of additive noise on the dB-scaled SAR (speckle is additive in dB)
    sar_blur: float = 0.0  # Gaussian blur of the SAR with σ drawn from [0, sar_blur] px: resampling by GDAL or a VRT
    sar_noise_max: float = 0.0  # > sar_noise: the noise std is drawn per crop from [sar_noise, sar_noise_max] (speckle levels)
    sar_scaling: float = 0.0  # probability that the SAR is seen as amplitude or linear power instead of dB
    resolution: float = 1.0  # > 1: both crops rescaled by a factor drawn log-uniformly in [1/resolution, resolution]
    shift_px: float = 0.0  # SAR views translated by a sub-pixel amount drawn uniformly in ±shift_px per axis

    def geometric(self) -> Augmentation:
        """The same geometry without the radiometric changes (for validation crops)."""
        return dataclasses.replace(self, optical_gamma=0.0, sar_noise=0.0, sar_blur=0.0, sar_noise_max=0.0, sar_scaling=0.0)


# Exponents k of the unit SAR u ↦ (e^{ku} − 1) / (e^{k} − 1): the 2–98 % dB range of a Sentinel-1 scene
# (about 25 dB) seen as amplitude (k = ln 10 · 25 / 20) or linear power (k = ln 10 · 25 / 10).
SAR_SCALING_EXPONENTS = (math.log(10) * 25 / 20, math.log(10) * 25 / 10)


def _invert(affine: np.ndarray) -> np.ndarray:
    full = np.vstack([affine, [0, 0, 1]])
    return np.linalg.inv(full)[:2]


def _compose(outer: np.ndarray, inner: np.ndarray) -> np.ndarray:
    """The (2, 3) affine x ↦ outer(inner(x))."""
    return (np.vstack([outer, [0, 0, 1]]) @ np.vstack([inner, [0, 0, 1]]))[:2]


def _sample(image: torch.Tensor, affine: np.ndarray, size: int) -> torch.Tensor:
    """(1, size, size) crop whose pixel q (corner coords) takes ``image`` (1, H, W) at ``affine``(q), bilinear."""
    h, w = image.shape[-2:]
    centres = torch.arange(size, dtype=torch.float64) + 0.5
    yy, xx = torch.meshgrid(centres, centres, indexing="ij")
    a = torch.from_numpy(affine)
    sx = a[0, 0] * xx + a[0, 1] * yy + a[0, 2]
    sy = a[1, 0] * xx + a[1, 1] * yy + a[1, 2]
    grid = torch.stack([sx / w * 2 - 1, sy / h * 2 - 1], dim=-1).float()[None]
    return F.grid_sample(image[None], grid, mode="bilinear", padding_mode="border", align_corners=False)[0]


def _sample_antialiased(image: torch.Tensor, affine: np.ndarray, size: int, scale: float) -> torch.Tensor:
    """:func:`_sample` of a crop that shrinks the image by ``scale`` (> 1): the window it reads is blurred
    first (σ = √(scale² − 1) / 2 px) so the crop is not aliased, as a resampled lower-resolution image is not."""
    if scale <= 1:
        return _sample(image, affine, size)
    sigma = math.sqrt(scale**2 - 1) / 2
    corners = affine[:, :2] @ np.array([[0, size, 0, size], [0, 0, size, size]]) + affine[:, 2:]
    pad = math.ceil(3 * sigma) + 2
    h, w = image.shape[-2:]
    x0, y0 = max(0, int(corners[0].min()) - pad), max(0, int(corners[1].min()) - pad)
    x1, y1 = min(w, int(corners[0].max()) + pad), min(h, int(corners[1].max()) + pad)
    window = gaussian(image[None, :, y0:y1, x0:x1], sigma)[0]
    return _sample(window, _compose(np.array([[1.0, 0, -x0], [0, 1.0, -y0]]), affine), size)


@dataclass(frozen=True)
class CropGeometry:
    """Where a crop pair comes from: its pair, crop → optical pixel affine and the rotation/scale about the
    crop centre (2, 3) mapping an optical crop pixel to the SAR crop pixel, before any view's translation."""

    pair: TrainingPair
    crop_to_optical: np.ndarray
    optical_to_sar_crop: np.ndarray
    scale: float


def _draw_geometry(pairs: list[TrainingPair], size: int, rng: np.random.Generator, augmentation: Augmentation) -> CropGeometry:
    pair = pairs[rng.integers(len(pairs))]
    h, w = pair.optical.shape[-2:]
    zoom = math.exp(rng.uniform(-math.log(augmentation.resolution), math.log(augmentation.resolution))) if augmentation.resolution > 1 else 1.0
    extent = math.ceil(size * zoom)  # source pixels under the crop
    border = size  # room for the warp around the crop
    x0, y0 = rng.integers(border // 2, w - extent - border // 2), rng.integers(border // 2, h - extent - border // 2)
    angle = math.radians(rng.uniform(-augmentation.rotation_deg, augmentation.rotation_deg))
    scale = 1 + rng.uniform(-augmentation.scale, augmentation.scale)
    c = size / 2
    cos, sin = scale * math.cos(angle), scale * math.sin(angle)
    # W: SAR crop pixel → optical crop pixel, a rotation and scale about the crop centre.
    warp = np.array([[cos, -sin, c - cos * c + sin * c], [sin, cos, c - sin * c - cos * c]])
    return CropGeometry(pair, np.array([[zoom, 0, x0], [0, zoom, y0]]), _invert(warp), zoom)


def _optical_crop(geometry: CropGeometry, size: int) -> torch.Tensor:
    """(1, S, S) optical crop: a plain slice at the native resolution, resampled otherwise."""
    if geometry.scale == 1:
        x0, y0 = int(geometry.crop_to_optical[0, 2]), int(geometry.crop_to_optical[1, 2])
        return geometry.pair.optical[:, y0 : y0 + size, x0 : x0 + size]
    return _sample_antialiased(geometry.pair.optical, geometry.crop_to_optical, size, geometry.scale)


def _sar_crop(geometry: CropGeometry, optical_to_sar_crop: np.ndarray, size: int) -> torch.Tensor:
    """(1, S, S) SAR crop whose pixel M(p) shows what optical crop pixel p shows (M = ``optical_to_sar_crop``)."""
    pair = geometry.pair
    sar_crop_to_sar = _compose(_invert(pair.sar_to_optical), _compose(geometry.crop_to_optical, _invert(optical_to_sar_crop)))
    return _sample_antialiased(pair.sar, sar_crop_to_sar, size, geometry.scale)


def _optical_radiometry(optical: torch.Tensor, rng: np.random.Generator, augmentation: Augmentation) -> torch.Tensor:
    """Random gamma per crop of (B, 1, S, S)."""
    if augmentation.optical_gamma <= 0:
        return optical
    g = augmentation.optical_gamma
    gamma = torch.from_numpy(rng.uniform(1 - g, 1 + g, (len(optical), 1, 1, 1))).float()
    return optical.clamp_min(1e-4) ** gamma


def _sar_radiometry(sar: torch.Tensor, rng: np.random.Generator, augmentation: Augmentation) -> torch.Tensor:
    """Per crop of (B, 1, S, S): dB / amplitude / power scaling, resampling blur, additive dB noise."""
    n = len(sar)
    if augmentation.sar_scaling > 0:
        k = np.where(rng.uniform(size=n) < augmentation.sar_scaling, rng.choice(SAR_SCALING_EXPONENTS, n), 0.0)
        k_t = torch.from_numpy(k).float().view(-1, 1, 1, 1)
        power = torch.expm1(k_t * sar) / torch.expm1(k_t).clamp_min(1e-6)
        sar = torch.where(k_t > 0, power, sar)
    if augmentation.sar_blur > 0:
        sigmas = rng.uniform(0, augmentation.sar_blur, n)
        sar = torch.cat([gaussian(s[None], float(sigma)) if sigma > 0.2 else s[None] for s, sigma in zip(sar, sigmas)])
    if augmentation.sar_noise > 0:
        std = augmentation.sar_noise
        if augmentation.sar_noise_max > std:
            std = rng.uniform(std, augmentation.sar_noise_max, (n, 1, 1, 1))
        noise = torch.from_numpy(rng.normal(0, 1, sar.shape) * std).float()
        sar = (sar + noise).clamp(0, 1)
    return sar


def sample_batch(
    pairs: list[TrainingPair], batch: int, size: int, rng: np.random.Generator, augmentation: Augmentation
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random crops with known correspondence.

    Returns:
        optical (B, 1, S, S), sar (B, 1, S, S), and warps (B, 2, 3): optical crop pixel p corresponds to
        SAR crop pixel warps[b] @ [p, 1].
    """
    geometries = [_draw_geometry(pairs, size, rng, augmentation) for _ in range(batch)]
    optical = torch.stack([_optical_crop(g, size) for g in geometries])
    sar = torch.stack([_sar_crop(g, g.optical_to_sar_crop, size) for g in geometries])
    warps = torch.from_numpy(np.stack([g.optical_to_sar_crop for g in geometries])).float()
    return _optical_radiometry(optical, rng, augmentation), _sar_radiometry(sar, rng, augmentation), warps


def sample_views(
    pairs: list[TrainingPair], batch: int, size: int, rng: np.random.Generator, augmentation: Augmentation, views: int = 2
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random optical crops, each with ``views`` SAR crops of the same place translated by different known
    sub-pixel amounts (±``augmentation.shift_px`` per axis) on one shared rotation and scale.

    Returns:
        optical (B, 1, S, S); sar (B, V, S, S); shifts (B, V, 2): the SAR content of the optical crop's
        centre is at the SAR crop's centre + shifts[b, v] (x, y) px — up to the pair's own alignment
        error, which is the same for every view of a crop, so the differences between views are exact.
    """
    geometries = [_draw_geometry(pairs, size, rng, augmentation) for _ in range(batch)]
    shifts = rng.uniform(-augmentation.shift_px, augmentation.shift_px, (batch, views, 2))
    sar = []
    for g, crop_shifts in zip(geometries, shifts):
        for shift in crop_shifts:
            moved = g.optical_to_sar_crop + np.array([[0, 0, shift[0]], [0, 0, shift[1]]])
            sar.append(_sar_crop(g, moved, size))
    optical = _optical_radiometry(torch.stack([_optical_crop(g, size) for g in geometries]), rng, augmentation)
    sar_t = _sar_radiometry(torch.stack(sar), rng, augmentation).view(batch, views, size, size)
    return optical, sar_t, torch.from_numpy(shifts).float()


SHIFT_MIN, SHIFT_MAX = 6, 16  # px: the shifted negatives a verifier must reject


def draw_patch_pairs(pairs: list[TrainingPair], batch: int, _crop: int, rng: np.random.Generator, augmentation: Augmentation) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Corresponding 64² optical and SAR patches (B, 1, 64, 64) and SAR patches of the same place shifted
    by 6–16 px in a random direction (B, 1, 64, 64)."""
    margin = SHIFT_MAX
    optical, sar, _ = sample_batch(pairs, batch, PATCH + 2 * margin, rng, augmentation)
    centre = slice(margin, margin + PATCH)
    angle = rng.uniform(0, 2 * np.pi, batch)
    length = rng.uniform(SHIFT_MIN, SHIFT_MAX, batch)
    dx = np.clip(np.round(length * np.cos(angle)), -margin, margin).astype(int)
    dy = np.clip(np.round(length * np.sin(angle)), -margin, margin).astype(int)
    shifted = torch.stack([sar[i, :, margin + dy[i] : margin + dy[i] + PATCH, margin + dx[i] : margin + dx[i] + PATCH] for i in range(batch)])
    return optical[:, :, centre, centre], sar[:, :, centre, centre], shifted
