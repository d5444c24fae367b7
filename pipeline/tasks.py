"""The tasks that run on Dask workers: read tile pairs, screen them, match them, verify the matches.

On CPU workers one task reads and matches one tile; on GPU workers reading is a task of its own and one
matching task takes a batch of tiles. Inputs are recipes and plain options; results are a few small
arrays per tile. The matcher (and the patch verifier) is built once per worker process (cached), and
torch's thread count is set so that workers do not oversubscribe the cores.
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


def match_read_tiles(
    recipes: list[TileRecipe],
    reads: list[ReadTile],
    matcher: str,
    matcher_options: tuple[tuple[str, object], ...],
    thresholds: ScreeningThresholds,
    device: str = "auto",
    torch_threads: int = 0,
    verify: bool = False,
) -> list[TileResult]:
    """Screen and match tile pairs already read, the accepted ones in one batch (and with ``verify``,
    drop the tie points the patch verifier rejects); correspondences come back in reference-grid pixels."""
    started = time.perf_counter()
    screenings = [screen(read.pair, thresholds) for read in reads]
    accepted = [i for i, screening in enumerate(screenings) if screening.accepted]
    tensors = [
        tuple(torch.from_numpy(a) for a in (p.reference, p.reference_valid, p.sar, p.sar_valid))
        for p in (reads[i].pair for i in accepted)
    ]
    covered = [recipes[i].covered for i in accepted]
    found = _matcher(matcher, matcher_options, device, torch_threads).match_many(tensors, covered) if accepted else []
    matches = [Correspondences.none()] * len(reads)
    rejected = [0] * len(reads)
    for i, tile, correspondences in zip(accepted, tensors, found):
        if verify and len(correspondences):
            verified = _verifier(device).verify(tile[0], tile[2], correspondences)
            correspondences, rejected[i] = verified, len(correspondences) - len(verified)
        matches[i] = correspondences.shifted(recipes[i].window.col_off, recipes[i].window.row_off)
    match_s = (time.perf_counter() - started) / len(reads)  # a batch's time, shared evenly among its tiles
    return [
        TileResult(recipe.tile_id, screening, tile_matches, read.seconds, match_s, tile_rejected)
        for recipe, read, screening, tile_matches, tile_rejected in zip(recipes, reads, screenings, matches, rejected)
    ]


def read_and_match_tiles(recipes: list[TileRecipe], *args: object, **kwargs: object) -> list[TileResult]:
    """Read, screen and match tiles in one task (see :func:`match_read_tiles` for the other arguments)."""
    return match_read_tiles(recipes, [read_tile(recipe) for recipe in recipes], *args, **kwargs)


def tile_status(result: TileResult | None) -> tuple[str, str]:
    """(status, reason) of a tile: 'outside', 'screened', 'no_match' or 'matched'."""
    if result is None:
        return "outside", "less than 5% of the tile lies in the overlap"
    if not result.screening.accepted:
        return "screened", result.screening.reason
    if result.matches.search_limited:
        return "no_match", "the tile's best match lies on the edge of the search (the shift may exceed --max-shift)"
    if len(result.matches) == 0 and result.rejected:
        return "no_match", f"the patch verifier rejected all {result.rejected} tie points"
    if len(result.matches) == 0:
        return "no_match", "no tie point passed the matcher's tests"
    return "matched", ""
