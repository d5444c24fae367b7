"""Coarse-to-fine FFT template matching of dense descriptors: the engine shared by the dense matchers.

A subclass supplies :meth:`DenseTemplateMatcher.describe` (image → dense descriptors), or, for a trained
network, only the network (:class:`NetworkTemplateMatcher`); the engine does:

1. Coarse: the whole reference tile's descriptors, pooled by ``coarse_factor``, are correlated with the
   pooled SAR descriptors over the full search range; this gives the tile's dominant shift to within a
   coarse pixel.
2. Fine: a grid of ``template``-sized templates, each searched ±``search`` px around the coarse shift at
   full resolution, with sub-pixel peak refinement. A template's score is its peak NCC; ambiguous peaks
   (second peak close to the first), peaks on the search border and weak peaks are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from sarlign.axis import window_starts
from sarlign.models.base import Correspondences, TileTensors
from sarlign.models.checkpoints import loaded_once
from sarlign.models.structural import average_pool
from sarlign.models.template_matching import find_peaks, ncc_surfaces


def search_margin(max_shift: int, search: int, coarse_factor: int) -> int:
    """SAR pixels needed around a tile to find shifts up to ``max_shift`` px with a fine search of ±``search``
    px after a coarse step on ``coarse_factor``-pooled descriptors (rounded up to a multiple of the pool)."""
    needed = max_shift + search + coarse_factor
    return -(-needed // coarse_factor) * coarse_factor


def coarse_shift(
    ref_desc: torch.Tensor, sar_desc: torch.Tensor, m: int, search: int, factor: int
) -> tuple[int, int, bool]:
    """Dominant integer shift (dx, dy) in pixels of a whole tile, from pooled descriptors, and whether it
    lies on the edge of the coarse search (then the true shift may lie beyond what the margin allows).

    Args:
        ref_desc: (C, H, W) reference tile descriptors; sar_desc: (C, H + 2m, W + 2m) SAR descriptors
            with ``m`` px margin on each side.
        search: the fine search radius that will follow (px); the coarse search covers the rest of the
            margin.
        factor: pooling factor of the coarse grid.
    """
    radius = (m - search) // factor
    h, w = ref_desc.shape[-2:]
    ch, cw = (h // factor) * factor, (w // factor) * factor
    ref_small = average_pool(ref_desc[None, :, :ch, :cw], factor)
    lo = m - radius * factor
    sar_small = average_pool(sar_desc[None, :, lo : m + ch + radius * factor, lo : m + cw + radius * factor], factor)
    peaks = find_peaks(ncc_surfaces(ref_small, sar_small))
    return int(round(peaks.dx.item() * factor)), int(round(peaks.dy.item() * factor)), not peaks.bracketed.item()


@dataclass
class DenseTemplateMatcher:
    """Template matching settings (all sizes in pixels of the reference grid)."""

    template: int = 128
    stride: int = 32
    search: int = 10
    coarse_factor: int = 4
    min_peak: float = 0.15
    max_peak_ratio: float = 0.9
    peak_exclusion: int = 3  # px around the best peak ignored when finding the second-best
    min_valid: float = 0.9
    device: str = "cpu"
    MIN_TILE: ClassVar[int] = 32  # narrower tiles (slivers of the overlap) hold too little to match

    def describe(self, reference: torch.Tensor, sar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Dense descriptors of both tiles: (B, 1, H, W) images in, (B, C, H, W) descriptors out."""
        raise NotImplementedError

    def margin(self, max_shift: int) -> int:
        """SAR pixels needed around a tile to find shifts up to ``max_shift`` px (a multiple of the pool)."""
        return search_margin(max_shift, self.search, self.coarse_factor)

    def templates_per_tile(self, tile_size: int, stride: int) -> int:
        """Templates searched on a ``tile_size``² tile at ``stride`` px."""
        return len(window_starts(tile_size, min(self.template, tile_size), stride)) ** 2

    def thinned(self, searches: int, tile_size: int) -> dict[str, object]:
        """The smallest stride (8 px steps, at most the template size) with at most ``searches`` templates
        per tile; see :meth:`sarlign.models.base.Matcher.thinned`."""
        stride = self.stride
        while self.templates_per_tile(tile_size, stride) > searches and stride < self.template:
            stride = min(self.template, stride + 8)
        return {"stride": stride} if stride != self.stride else {}

    def sized_for(self, side: int) -> dict[str, object]:
        """Templates of half the overlap's side (at least ``MIN_TILE``) on a grid a quarter of that apart,
        when fewer than two templates fit across; see :meth:`sarlign.models.base.Matcher.sized_for`."""
        if side >= 2 * self.template:
            return {}
        template = max(self.MIN_TILE, side // 2)
        return {"template": template, "stride": max(4, template // 4)}

    def match(
        self,
        reference: torch.Tensor,
        reference_valid: torch.Tensor,
        sar: torch.Tensor,
        sar_valid: torch.Tensor,
    ) -> Correspondences:
        """See :class:`sarlign.models.base.Matcher`; scores are peak NCC values in [0, 1]."""
        return self.match_many([(reference, reference_valid, sar, sar_valid)])[0]

    @torch.no_grad()
    def match_many(
        self, tiles: Sequence[TileTensors], covered: Sequence[tuple[int, int]] | None = None
    ) -> list[Correspondences]:
        """See :meth:`sarlign.models.base.Matcher.match_many`: tiles of one shape share one
        :meth:`describe` call, a batch of (B, 1, H, W); templates wholly inside a tile's ``covered`` strips
        are not searched (the coarse shift still uses the whole tile)."""
        device = torch.device(self.device)
        covered = covered or [(0, 0)] * len(tiles)
        found = [Correspondences.none()] * len(tiles)
        groups: dict[tuple, list[int]] = {}
        for i, (reference, _, sar, _) in enumerate(tiles):
            if min(reference.shape) >= self.MIN_TILE:
                groups.setdefault((reference.shape, sar.shape), []).append(i)
        for (shape, sar_shape), members in groups.items():
            references = torch.stack([tiles[i][0] for i in members]).to(device)[:, None]
            sars = torch.stack([tiles[i][2] for i in members]).to(device)[:, None]
            ref_descs, sar_descs = self.describe(references, sars)
            m = (sar_shape[0] - shape[0]) // 2
            for k, i in enumerate(members):
                ref_valid, sar_valid = tiles[i][1].to(device), tiles[i][3].to(device)
                ref_desc, sar_desc = ref_descs[k] * ref_valid, sar_descs[k] * sar_valid
                dx0, dy0, on_edge = coarse_shift(ref_desc, sar_desc, m, self.search, self.coarse_factor)
                if on_edge:
                    found[i] = Correspondences.none(search_limited=True)
                else:
                    found[i] = self._fine_matches(ref_desc, ref_valid, sar_desc, sar_valid, m, (dx0, dy0), covered[i])
        return found

    def _fine_matches(
        self,
        ref_desc: torch.Tensor,
        ref_valid: torch.Tensor,
        sar_desc: torch.Tensor,
        sar_valid: torch.Tensor,
        m: int,
        coarse: tuple[int, int],
        covered: tuple[int, int],
    ) -> Correspondences:
        """Template grid searched ±``search`` px around the ``coarse`` shift (dx0, dy0), less the templates
        wholly inside the ``covered`` (columns, rows) strips; returns the accepted tie points."""
        h, w = ref_desc.shape[-2:]
        t, r = min(self.template, h, w), self.search
        dx0, dy0 = coarse
        tops = window_starts(h, t, self.stride)
        lefts = window_starts(w, t, self.stride)
        yy, xx = np.meshgrid(tops, lefts, indexing="ij")
        searched = (xx + t > covered[0]) & (yy + t > covered[1])
        yy, xx = yy[searched], xx[searched]
        if len(yy) == 0:
            return Correspondences.none()
        templates = torch.stack([ref_desc[:, y : y + t, x : x + t] for y, x in zip(yy, xx)])
        # Region origin in SAR-tile pixels: the template's place (+m for the margin) moved by the coarse shift, less r.
        oy, ox = yy + m + dy0 - r, xx + m + dx0 - r
        regions = torch.stack([sar_desc[:, y : y + t + 2 * r, x : x + t + 2 * r] for y, x in zip(oy, ox)])
        ref_fraction = torch.stack([ref_valid[y : y + t, x : x + t].float().mean() for y, x in zip(yy, xx)])
        sar_fraction = torch.stack(
            [sar_valid[y + r : y + r + t, x + r : x + r + t].float().mean() for y, x in zip(oy, ox)]
        )
        peaks = find_peaks(ncc_surfaces(templates, regions), self.peak_exclusion)
        keep = (
            peaks.bracketed
            & (peaks.peak >= self.min_peak)
            & (peaks.second <= self.max_peak_ratio * peaks.peak)
            & (ref_fraction >= self.min_valid)
            & (sar_fraction >= self.min_valid)
        ).cpu().numpy()
        centres = np.column_stack([xx + t / 2, yy + t / 2]).astype(np.float64)
        shift = np.column_stack([peaks.dx.cpu().numpy() + dx0, peaks.dy.cpu().numpy() + dy0]).astype(np.float64)
        return Correspondences(
            centres[keep],
            centres[keep] + shift[keep],
            peaks.peak.clamp(0, 1).cpu().numpy().astype(np.float64)[keep],
            footprint_px=float(t),
        )


@dataclass
class NetworkTemplateMatcher(DenseTemplateMatcher):
    """The engine with the descriptors of a trained network: ``NETWORK`` (a subclass's class attribute) is
    built from the ``weights`` file, once per process, and called as ``net(image, modality)``, (B, 1, H, W)
    in [0, 1] → (B, C, H, W), with modality "optical" for the reference and "sar" for the SAR."""

    NETWORK: ClassVar[Callable[..., nn.Module]]
    weights: str = ""  # each matcher's default is its shipped file

    def network(self) -> nn.Module:
        return loaded_once(self.weights, self.NETWORK, self.device)[0]

    def describe(self, reference: torch.Tensor, sar: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(B, 1, H, W) images → (B, C, H, W) descriptors each."""
        net = self.network()
        return net(reference, "optical"), net(sar, "sar")
