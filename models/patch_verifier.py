"""Patch-pair verifier (the KGL-Net / RRL-Net line): is this optical/SAR tie point the same place?

A metric network embeds a 64 × 64 optical patch and a 64 × 64 SAR patch, each centred on one end of a tie
point, into unit vectors; their distance says whether the two patches show the same place. Trained with
hard negatives (the hardest other patch in the batch, and the same place shifted by several pixels, the
error a verifier must catch), it rejects tie points before the global fit. The rejection threshold is the
distance that keeps 95 % of true pairs on the validation pairs, stored with the weights.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sarlign.models.base import Correspondences
from sarlign.models.blocks import modality_stems, structural_prior
from sarlign.models.checkpoints import WEIGHTS_DIR, load_weights, loaded_once

DEFAULT_WEIGHTS = WEIGHTS_DIR / "patch_verifier_v1.pt"
PATCH = 64


def _down(channels_in: int, channels_out: int) -> nn.Sequential:
    # GroupNorm, not BatchNorm: the trunk is shared by optical and SAR, and BatchNorm's running statistics
    # would mix the two modalities, so what it learned in training would not hold at inference.
    return nn.Sequential(nn.Conv2d(channels_in, channels_out, 3, stride=2, padding=1), nn.GroupNorm(4, channels_out), nn.ReLU(inplace=True))


class PatchVerifierNet(nn.Module):
    """Patches (B, 1, 64, 64) in [0, 1] and their modality → embeddings (B, dim), unit L2 norm.

    Structural prior and modality stems as in the other learned models, then a shared trunk of four
    stride-2 convolutions (64 → 4 px) and a linear layer over the 4 × 4 grid, which keeps where in the
    patch the structure lies (a shifted patch must embed differently).
    """

    def __init__(self, orientations: int = 8, width: int = 16, dim: int = 64, sar_presmooth: float = 1.0) -> None:
        super().__init__()
        self.config = {"orientations": orientations, "width": width, "dim": dim, "sar_presmooth": sar_presmooth}
        self.stems = modality_stems(orientations + 1, width)
        self.trunk = nn.Sequential(_down(width, 2 * width), _down(2 * width, 4 * width), _down(4 * width, 4 * width), _down(4 * width, 4 * width))
        self.head = nn.Linear(4 * width * (PATCH // 16) ** 2, dim)

    def forward(self, patches: torch.Tensor, modality: str) -> torch.Tensor:
        prior = structural_prior(patches, modality, self.config["orientations"], self.config["sar_presmooth"])
        return F.normalize(self.head(self.trunk(self.stems[modality](prior)).flatten(1)), dim=1)


def load_verifier_net(path: Path = DEFAULT_WEIGHTS) -> tuple[PatchVerifierNet, dict[str, Any]]:
    """Shipped weights and their metadata; see :func:`sarlign.models.checkpoints.load_weights`."""
    return load_weights(path, PatchVerifierNet)


def patches_at(image: torch.Tensor, centres: torch.Tensor, size: int = PATCH) -> torch.Tensor:
    """Bilinear size × size patches of ``image`` (H, W) centred on ``centres`` (K, 2) pixel (x, y), corners
    at integers → (K, 1, size, size); outside the image the border value is repeated."""
    h, w = image.shape
    offsets = torch.arange(size, dtype=torch.float32, device=image.device) - size / 2 + 0.5
    xs = centres[:, 0:1].float() + offsets[None]  # (K, S) pixel-centre x of each patch column
    ys = centres[:, 1:2].float() + offsets[None]
    grid = torch.stack(torch.broadcast_tensors(xs[:, None, :] / w * 2 - 1, ys[:, :, None] / h * 2 - 1), dim=-1)
    return F.grid_sample(image[None, None].expand(len(centres), 1, h, w), grid, mode="bilinear", padding_mode="border", align_corners=False)


@dataclass
class PatchVerifier:
    """Rejects tie points whose optical and SAR patches embed farther apart than ``threshold`` (default:
    the one recorded with the weights)."""

    weights: str = str(DEFAULT_WEIGHTS)
    threshold: float | None = None
    device: str = "cpu"
    batch: int = 256

    def network(self) -> PatchVerifierNet:
        return loaded_once(self.weights, PatchVerifierNet, self.device)[0]

    def max_distance(self) -> float:
        """The acceptance threshold: ``threshold``, or the one recorded with the weights."""
        if self.threshold is not None:
            return self.threshold
        return float(loaded_once(self.weights, PatchVerifierNet, self.device)[1]["validation"]["threshold"])

    @torch.no_grad()
    def distances(self, reference: torch.Tensor, sar: torch.Tensor, matches: Correspondences) -> np.ndarray:
        """Embedding distance (N,) in [0, 2] of each tie point's patches; ``reference`` (H, W) and ``sar``
        (H + 2m, W + 2m) as given to a matcher, ``matches`` in the reference tile's frame."""
        net = self.network()
        m = (sar.shape[0] - reference.shape[0]) // 2
        ref_xy = torch.from_numpy(matches.reference_xy)
        sar_xy = torch.from_numpy(matches.sar_xy) + m
        out = []
        for start in range(0, len(matches), self.batch):
            part = slice(start, start + self.batch)
            a = net(patches_at(reference.to(self.device), ref_xy[part].to(self.device)), "optical")
            b = net(patches_at(sar.to(self.device), sar_xy[part].to(self.device)), "sar")
            out.append((a - b).norm(dim=1).cpu())
        return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)

    def verify(self, reference: torch.Tensor, sar: torch.Tensor, matches: Correspondences) -> Correspondences:
        """The tie points the verifier accepts (distance ≤ threshold)."""
        keep = self.distances(reference, sar, matches) <= self.max_distance() if len(matches) else np.zeros(0, dtype=bool)
        return dataclasses.replace(matches, reference_xy=matches.reference_xy[keep], sar_xy=matches.sar_xy[keep], score=matches.score[keep])
