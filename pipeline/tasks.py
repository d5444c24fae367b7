"""The per-tile task that runs on Dask workers: read a tile pair, screen it, match it, verify the matches.

Inputs are a recipe and plain options; the result is a few small arrays. The matcher (and the patch
verifier) is built once per worker process (cached), and torch's thread count is set so that workers do
not oversubscribe the cores.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache

import torch

from sarlign.models import registry
from sarlign.models.base import Correspondences, Matcher
from sarlign.models.patch_verifier import PatchVerifier
from sarlign.tiling.reading import TilePair, read_tile_pair
from sarlign.tiling.recipe import TileRecipe
from sarlign.tiling.screening import Screening, ScreeningThresholds, screen


@dataclass(frozen=True)
class TileResult:
    """What one tile gives back: its screening, its correspondences (reference-grid pixels) and timings."""

    tile_id: str
    screening: Screening
    matches: Correspondences
    read_s: float
    match_s: float
    rejected: int = 0  # tie points the patch verifier rejected


def resolve_device(device: str) -> str:
    """'auto' → 'cuda' where a GPU is visible, else 'cpu'."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


@lru_cache(maxsize=8)
def _matcher(name: str, options: tuple[tuple[str, object], ...], device: str, threads: int) -> Matcher:
    if threads > 0:
        torch.set_num_threads(threads)
    return registry.build(name, device=resolve_device(device), **dict(options))


@lru_cache(maxsize=2)
def _verifier(device: str) -> PatchVerifier:
    return PatchVerifier(device=resolve_device(device))


@dataclass(frozen=True)
class ReadTile:
    """A tile pair as read by a worker, with the seconds the read took."""

    pair: TilePair
    seconds: float


def read_tile(recipe: TileRecipe) -> ReadTile:
    """Read one tile pair (the I/O half of a tile's work)."""
    started = time.perf_counter()
    pair = read_tile_pair(recipe)
    return ReadTile(pair, time.perf_counter() - started)


def match_read_tile(
    recipe: TileRecipe,
    read: ReadTile,
    matcher: str,
    matcher_options: tuple[tuple[str, object], ...],
    thresholds: ScreeningThresholds,
    device: str = "auto",
    torch_threads: int = 0,
    verify: bool = False,
) -> TileResult:
    """Screen and match a tile pair already read (and with ``verify``, drop the tie points the patch
    verifier rejects); correspondences are returned in reference-grid pixels."""
    started = time.perf_counter()
    pair = read.pair
    screening = screen(pair, thresholds)
    matches, rejected = Correspondences.concatenate([]), 0
    if screening.accepted:
        model = _matcher(matcher, matcher_options, device, torch_threads)
        reference, sar = torch.from_numpy(pair.reference), torch.from_numpy(pair.sar)
        found = model.match(reference, torch.from_numpy(pair.reference_valid), sar, torch.from_numpy(pair.sar_valid))
        if verify and len(found):
            verified = _verifier(device).verify(reference, sar, found)
            found, rejected = verified, len(found) - len(verified)
        matches = found.shifted(recipe.window.col_off, recipe.window.row_off)
    return TileResult(recipe.tile_id, screening, matches, read.seconds, time.perf_counter() - started, rejected)


def match_tile(recipe: TileRecipe, *args: object, **kwargs: object) -> TileResult:
    """Read, screen and match one tile in one task (see :func:`match_read_tile` for the arguments)."""
    return match_read_tile(recipe, read_tile(recipe), *args, **kwargs)


def tile_status(result: TileResult | None) -> tuple[str, str]:
    """(status, reason) of a tile: 'outside', 'screened', 'no_match' or 'matched'."""
    if result is None:
        return "outside", "less than 5% of the tile lies in the overlap"
    if not result.screening.accepted:
        return "screened", result.screening.reason
    if len(result.matches) == 0 and result.rejected:
        return "no_match", f"the patch verifier rejected all {result.rejected} tie points"
    if len(result.matches) == 0:
        return "no_match", "no tie point passed the matcher's tests"
    return "matched", ""
