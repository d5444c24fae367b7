"""Learned keypoints (the R2D2 / ReDFeat / HSCP line), matched coarse to fine.

The network gives, for each modality, dense descriptors and two confidence maps (R2D2): *repeatability*
(will this place be detected in the other image too) and *reliability* (is its descriptor distinctive
enough to be matched). Keypoints are the local maxima of their product.

Matching one tile pair (the two-stage idea of the R2D2-SAR paper):

1. coarse: the tile's dominant shift from pooled dense descriptors (the same step as the dense matchers);
2. keypoints: the top ``keypoints`` detections in the optical tile (optical structure is where keypoints
   are repeatable; SAR detections, tried first, were too often at other places to be matched);
3. fine, local search: a ``template``-pixel descriptor template around each keypoint is searched
   ±``search`` px around where the coarse shift puts it in the SAR, with a sub-pixel peak. The template
   holds several descriptors, as in R2D2-SAR: the learned ones and, with ``with_cfog``, the classical
   CFOG channels, whose sharper correlation peak localises better;
4. mutual check: the SAR template at the match, searched back ±``mutual_radius`` px around the keypoint
   in the optical tile, must peak within 1 px of the keypoint (each is the other's nearest neighbour).

Coordinates follow :mod:`sarlign.models.base`: pixel (x, y), corners at integers. A keypoint at pixel
index (row i, column j) is placed at the corner (j, i), which is also the centre of its even-sized
template, so reference and SAR positions use one convention.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from sarlign.models.base import Correspondences, TileTensors
from sarlign.models.blocks import dilated_encoder, modality_stems, structural_prior
from sarlign.models.cfog import CfogMatcher
from sarlign.models.checkpoints import WEIGHTS_DIR, load_weights, loaded_once
from sarlign.models.dense_matching import coarse_shift, search_margin
from sarlign.models.registry import register
from sarlign.models.structural import unit_channels
from sarlign.models.template_matching import find_peaks, ncc_surfaces

DEFAULT_WEIGHTS = WEIGHTS_DIR / "learned_keypoint_v1.pt"


@dataclass(frozen=True)
class KeypointMaps:
    """Dense outputs for a batch: descriptors (B, dim, H, W), unit L2 norm per pixel; reliability and
    repeatability (B, 1, H, W) in (0, 1)."""

    descriptors: torch.Tensor
    reliability: torch.Tensor
    repeatability: torch.Tensor

    @property
    def score(self) -> torch.Tensor:
        """Detection score (B, 1, H, W): repeatability × reliability."""
        return self.reliability * self.repeatability


class KeypointNet(nn.Module):
    """Image (B, 1, H, W) in [0, 1] and its modality → :class:`KeypointMaps` at full resolution.

    The fixed structural prior, modality stems and dilated shared encoder of the dense descriptor, then a
    1 × 1 descriptor head and, on the squared raw descriptor as in R2D2, 1 × 1 reliability and
    repeatability heads.
    """

    def __init__(self, orientations: int = 8, width: int = 32, dim: int = 24, sar_presmooth: float = 1.0) -> None:
        super().__init__()
        self.config = {"orientations": orientations, "width": width, "dim": dim, "sar_presmooth": sar_presmooth}
        self.stems = modality_stems(orientations + 1, width)
        self.encoder = dilated_encoder(width)
        self.descriptor = nn.Conv2d(width, dim, 1)
        self.reliability = nn.Conv2d(dim, 1, 1)
        self.repeatability = nn.Conv2d(dim, 1, 1)

    def forward(self, image: torch.Tensor, modality: str) -> KeypointMaps:
        prior = structural_prior(image, modality, self.config["orientations"], self.config["sar_presmooth"])
        raw = self.descriptor(self.encoder(self.stems[modality](prior)))
        energy = raw * raw
        return KeypointMaps(unit_channels(raw), torch.sigmoid(self.reliability(energy)), torch.sigmoid(self.repeatability(energy)))


def load_keypoint_net(path: Path = DEFAULT_WEIGHTS) -> tuple[KeypointNet, dict[str, Any]]:
    """Shipped weights and their metadata; see :func:`sarlign.models.checkpoints.load_weights`."""
    return load_weights(path, KeypointNet)


def detect(score: torch.Tensor, allowed: torch.Tensor, count: int, nms_radius: int) -> torch.Tensor:
    """The ``count`` strongest local maxima of ``score`` (H, W) where ``allowed`` (H, W) bool.

    A local maximum is the largest value in its (2·nms_radius + 1)² neighbourhood. Returns (K, 2) long
    (row, column) pixel indices, K ≤ count, strongest first.
    """
    pooled = F.max_pool2d(score[None, None], 2 * nms_radius + 1, stride=1, padding=nms_radius)[0, 0]
    candidates = (score >= pooled) & allowed
    rows, cols = torch.nonzero(candidates, as_tuple=True)
    order = score[rows, cols].argsort(descending=True)[:count]
    return torch.stack([rows[order], cols[order]], dim=1)


def _inner(shape: tuple[int, int], border: int, device: torch.device) -> torch.Tensor:
    """(H, W) bool, True at least ``border`` px from every edge."""
    mask = torch.zeros(shape, dtype=torch.bool, device=device)
    mask[border : shape[0] - border, border : shape[1] - border] = True
    return mask


def _windows(maps: torch.Tensor, centres: torch.Tensor, half: int) -> torch.Tensor:
    """(C, H, W) maps, (K, 2) (row, col) centres → (K, C, 2·half, 2·half) windows [r - half, r + half)."""
    return torch.stack([maps[:, r - half : r + half, c - half : c + half] for r, c in centres.tolist()])


@register("learned-keypoint", "Learned keypoints (R2D2-style detector + descriptor, trained here), local search + mutual check")
@dataclass
class LearnedKeypointMatcher:
    """Keypoint matching settings (sizes in reference-grid pixels); ``weights`` defaults to the shipped file."""

    keypoints: int = 384  # optical detections kept per tile
    nms_radius: int = 6
    search: int = 10  # the fine search covers ±search px around the coarse prediction
    coarse_factor: int = 4
    template: int = 64
    mutual_radius: int = 3
    min_peak: float = 0.3  # forward NCC below this is dropped
    min_valid: float = 0.9
    with_cfog: bool = True
    weights: str = str(DEFAULT_WEIGHTS)
    device: str = "cpu"
    name: str = "learned-keypoint"

    def network(self) -> KeypointNet:
        return loaded_once(self.weights, KeypointNet, self.device)[0]

    def thinned(self, searches: int, tile_size: int) -> dict[str, object]:
        """Fewer optical keypoints per tile; see :meth:`sarlign.models.base.Matcher.thinned`."""
        keypoints = max(searches, (tile_size // self.template) ** 2)  # no fewer than the templates that tile it
        return {"keypoints": keypoints} if keypoints < self.keypoints else {}

    def sized_for(self, side: int) -> dict[str, object]:
        """Templates of half the overlap's side when fewer than two fit across; see
        :meth:`sarlign.models.base.Matcher.sized_for`."""
        return {"template": max(16, side // 2)} if side < 2 * self.template else {}

    def match_many(
        self, tiles: Sequence[TileTensors], covered: Sequence[tuple[int, int]] | None = None
    ) -> list[Correspondences]:
        """One tile at a time: keypoint counts differ from tile to tile, so there is no common batch. The
        whole tile is matched: which keypoints a neighbour detects in a shared strip depends on its extent."""
        return [self.match(*tile) for tile in tiles]

    def margin(self, max_shift: int) -> int:
        """SAR pixels needed around a tile to find shifts up to ``max_shift`` px."""
        return search_margin(max_shift, self.search, self.coarse_factor)

    @torch.no_grad()
    def match(
        self,
        reference: torch.Tensor,
        reference_valid: torch.Tensor,
        sar: torch.Tensor,
        sar_valid: torch.Tensor,
    ) -> Correspondences:
        """See :class:`sarlign.models.base.Matcher`; scores are the forward NCC peaks in [0, 1]."""
        device = torch.device(self.device)
        h, w = reference.shape
        half, b = self.template // 2, self.mutual_radius
        m = (sar.shape[0] - h) // 2
        if min(h, w) < 2 * (half + b) + 2:
            return Correspondences.none()
        ref_ok, sar_ok = reference_valid.to(device), sar_valid.to(device)
        ref_image, sar_image = reference.to(device)[None, None], sar.to(device)[None, None]
        net = self.network()
        ref_maps, sar_maps = net(ref_image, "optical"), net(sar_image, "sar")
        ref_desc, sar_desc = ref_maps.descriptors[0] * ref_ok, sar_maps.descriptors[0] * sar_ok
        dx0, dy0, on_edge = coarse_shift(ref_desc, sar_desc, m, self.search, self.coarse_factor)
        if on_edge:
            return Correspondences.none(search_limited=True)
        keypoints = detect(ref_maps.score[0, 0], ref_ok & _inner((h, w), half + b, device), self.keypoints, self.nms_radius)
        if len(keypoints) == 0:
            return Correspondences.none()
        if self.with_cfog:
            ref_cfog, sar_cfog = CfogMatcher().describe(ref_image, sar_image)
            ref_desc, sar_desc = torch.cat([ref_desc, ref_cfog[0] * ref_ok]), torch.cat([sar_desc, sar_cfog[0] * sar_ok])

        predicted = keypoints + torch.tensor([m + dy0, m + dx0], device=device)  # SAR-tile (row, col)
        forward = find_peaks(ncc_surfaces(_windows(ref_desc, keypoints, half), _windows(sar_desc, predicted, half + self.search)), exclusion=1)
        found = predicted + torch.stack([forward.dy, forward.dx], dim=1).round().long()
        backward = find_peaks(ncc_surfaces(_windows(sar_desc, found, half), _windows(ref_desc, keypoints, half + b)), exclusion=1)
        mutual = (backward.dx.abs() <= 1) & (backward.dy.abs() <= 1)
        ref_fraction = _windows(ref_ok[None].float(), keypoints, half).mean(dim=(1, 2, 3))
        sar_fraction = _windows(sar_ok[None].float(), found, half).mean(dim=(1, 2, 3))
        keep = (forward.bracketed & mutual & (forward.peak >= self.min_peak) & (ref_fraction >= self.min_valid) & (sar_fraction >= self.min_valid)).cpu().numpy()
        reference_xy = keypoints.flip(1).cpu().numpy().astype(np.float64)
        shift = np.column_stack([forward.dx.cpu().numpy() + dx0, forward.dy.cpu().numpy() + dy0])
        score = forward.peak.clamp(0, 1).cpu().numpy().astype(np.float64)[keep]
        return Correspondences(reference_xy[keep], reference_xy[keep] + shift[keep], score, footprint_px=float(2 * half))
