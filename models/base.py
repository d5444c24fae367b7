"""The matcher interface: a tile pair in, correspondences with scores out.

Coordinates are pixel (x, y) = (column, row) in the reference tile's frame, corners at integers (a pixel's
centre is at +0.5). The SAR tile is on the same grid as the reference, grown by ``margin`` pixels on each
side; SAR positions are given in the reference tile's frame too, so ``sar_xy - reference_xy`` is the
displacement of the SAR content relative to the reference.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np
import torch


@dataclass(frozen=True)
class Correspondences:
    """N tie points of one tile pair (numpy, float64).

    Attributes:
        reference_xy: (N, 2) positions in the reference tile, pixels.
        sar_xy: (N, 2) positions of the same features in the SAR, in the reference tile's frame, pixels.
        score: (N,) match quality in [0, 1], higher is better (the matcher documents its meaning).
        search_limited: the tile's dominant shift lay on the edge of the range the matcher could search
            (the true one may lie beyond it, so no tie point is given for the tile); for a set of
            several tiles, whether any of them was.
        footprint_px: the side of the square window each match measured (a template), pixels; 0 for
            point features. Tie points closer than that share pixels, and so their errors.
    """

    reference_xy: np.ndarray
    sar_xy: np.ndarray
    score: np.ndarray
    search_limited: bool = False
    footprint_px: float = 0.0

    def __len__(self) -> int:
        return len(self.score)

    def shifted(self, dx: float, dy: float) -> Correspondences:
        """The same points moved by (dx, dy) pixels, e.g. from tile to scene coordinates."""
        offset = np.array([dx, dy])
        return dataclasses.replace(self, reference_xy=self.reference_xy + offset, sar_xy=self.sar_xy + offset)

    @staticmethod
    def none(search_limited: bool = False) -> Correspondences:
        """No tie points (``search_limited``: because the tile's shift lay on the edge of the search)."""
        return Correspondences(np.zeros((0, 2)), np.zeros((0, 2)), np.zeros(0), search_limited)

    @staticmethod
    def concatenate(parts: list[Correspondences]) -> Correspondences:
        if not parts:
            return Correspondences.none()
        return Correspondences(
            np.concatenate([p.reference_xy for p in parts]),
            np.concatenate([p.sar_xy for p in parts]),
            np.concatenate([p.score for p in parts]),
            any(p.search_limited for p in parts),
            max(p.footprint_px for p in parts),
        )


# One tile pair as a matcher takes it: reference (H, W) float32, its validity (H, W) bool, the SAR around
# it (H + 2m, W + 2m) float32 and its validity (H + 2m, W + 2m) bool.
TileTensors = tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]


class Matcher(Protocol):
    """Finds correspondences between a reference tile and the SAR around it."""

    name: str

    def match(
        self,
        reference: torch.Tensor,
        reference_valid: torch.Tensor,
        sar: torch.Tensor,
        sar_valid: torch.Tensor,
    ) -> Correspondences:
        """Match one tile pair.

        Args:
            reference: (H, W) float32 in [0, 1].
            reference_valid: (H, W) bool.
            sar: (H + 2m, W + 2m) float32 in [0, 1], same grid, ``m`` = margin pixels on each side.
            sar_valid: (H + 2m, W + 2m) bool.
        """
        ...

    def match_many(
        self, tiles: Sequence[TileTensors], covered: Sequence[tuple[int, int]] | None = None
    ) -> list[Correspondences]:
        """Match several tile pairs at once (batched on the device where the matcher can), in order.

        ``covered`` gives, per tile, the (columns, rows) px at its left and top that the tiles before it
        search too (:class:`sarlign.tiling.grid.Tile`): a matcher that searches windows on a grid skips the
        windows lying wholly inside them; one that detects features anywhere may match the whole tile.
        """
        ...

    def margin(self, max_shift: int) -> int:
        """SAR pixels needed around a tile to find shifts up to ``max_shift`` reference pixels."""
        ...

    def thinned(self, searches: int, tile_size: int) -> dict[str, object]:
        """Option overrides that make the matcher run at most about ``searches`` local searches on a
        ``tile_size``² tile (its densest setting that fits, never sparser than its searches' own footprint);
        empty when its present settings fit already. Whole scenes need far fewer tie points per tile than
        a single tile does for a good global fit."""
        ...

    def sized_for(self, side: int) -> dict[str, object]:
        """Option overrides for inputs that overlap by only ``side`` px on the shorter side, where the
        matcher's searches would not fit several times (small chips): smaller searches on a denser grid;
        empty when they fit."""
        ...
