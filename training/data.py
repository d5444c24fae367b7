"""Training pairs in memory, random augmented crops with known dense correspondence, and patch pairs
(matching and shifted) for the verifier.

Images are scaled as the pipeline scales them (per band 2–98 % range; SAR in dB first), so the network
sees at training time what it sees when registering. Coordinates are pixel (x, y), corners at integers.
"""

from __future__ import annotations

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


def sample_batch(
    pairs: list[TrainingPair], batch: int, size: int, rng: np.random.Generator, augmentation: Augmentation
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Random crops with known correspondence.

    Returns:
        optical (B, 1, S, S), sar (B, 1, S, S), and warps (B, 2, 3): optical crop pixel p corresponds to
        SAR crop pixel warps[b] @ [p, 1].
    """
    optical, sar, warps = [], [], []
    for _ in range(batch):
        pair = pairs[rng.integers(len(pairs))]
        h, w = pair.optical.shape[-2:]
        border = size  # room for the warp around the crop
        x0, y0 = rng.integers(border // 2, w - size - border // 2), rng.integers(border // 2, h - size - border // 2)
        angle = math.radians(rng.uniform(-augmentation.rotation_deg, augmentation.rotation_deg))
        scale = 1 + rng.uniform(-augmentation.scale, augmentation.scale)
        c = size / 2
        cos, sin = scale * math.cos(angle), scale * math.sin(angle)
        # W: SAR crop pixel → optical crop pixel, a rotation and scale about the crop centre.
        warp = np.array([[cos, -sin, c - cos * c + sin * c], [sin, cos, c - sin * c - cos * c]])
        crop_to_optical = np.array([[1.0, 0, x0], [0, 1.0, y0]])
        sar_crop_to_sar = _compose(_invert(pair.sar_to_optical), _compose(crop_to_optical, warp))
        optical.append(pair.optical[:, y0 : y0 + size, x0 : x0 + size])
        sar.append(_sample(pair.sar, sar_crop_to_sar, size))
        warps.append(_invert(warp))
    optical_t = torch.stack(optical)
    sar_t = torch.stack(sar)
    if augmentation.optical_gamma > 0:
        gamma = torch.from_numpy(rng.uniform(1 - augmentation.optical_gamma, 1 + augmentation.optical_gamma, (batch, 1, 1, 1))).float()
        optical_t = optical_t.clamp_min(1e-4) ** gamma
    if augmentation.sar_blur > 0:
        sigmas = rng.uniform(0, augmentation.sar_blur, batch)
        sar_t = torch.cat([gaussian(s[None], float(sigma)) if sigma > 0.2 else s[None] for s, sigma in zip(sar_t, sigmas)])
    if augmentation.sar_noise > 0:
        noise = torch.from_numpy(rng.normal(0, augmentation.sar_noise, sar_t.shape)).float()
        sar_t = (sar_t + noise).clamp(0, 1)
    return optical_t, sar_t, torch.from_numpy(np.stack(warps)).float()


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
