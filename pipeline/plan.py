"""Planning a scene pair: validate inputs, find the overlap, cut the tile grid, write the read recipes."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import get_args

import shapely
from shapely.geometry import Polygon

from sarlign.coords import map_points
from sarlign.errors import InputError, OptionError
from sarlign.georef.fit import FitGates
from sarlign.georef.robust import ModelKind
from sarlign.models import registry
from sarlign.models.base import Matcher
from sarlign.tiling.grid import Tile, overlap_window, tile_grid
from sarlign.tiling.recipe import RasterSource, ReferenceGrid, TileRecipe
from sarlign.tiling.scaling import SarScale, band_scaling
from sarlign.tiling.scene import RasterInfo, check_bands, open_raster, overlap_in_reference_crs
from sarlign.tiling.screening import ScreeningThresholds

MIN_TILE_COVERAGE = 0.05  # tiles with less of their area inside the overlap are not read at all
FULL_COVERAGE = 0.999  # a tile with this much of its area inside the overlap lies wholly in it
# The largest --max-shift: Sentinel-1/2 misregistrations are tens of metres, a few hundred at worst; each
# tile's SAR read grows by twice the shift on each side (a 512² tile reads 1536² at 500 px).
MAX_SHIFT_LIMIT = 500
TILE_SIZE_RANGE = (64, 4096)


@dataclass(frozen=True)
class RegisterOptions:
    """Everything that shapes one registration (see ``sarlign register --help``)."""

    reference_bands: tuple[int, ...] | None = None  # None: all bands, each scaled, averaged to grey
    sar_band: int = 1
    sar_scale: SarScale = "auto"
    sar_nodata: float | None = None  # None: the file's own nodata value
    matcher: str = "cfog"
    matcher_options: tuple[tuple[str, object], ...] = ()
    verify: bool = False  # drop tie points the patch verifier rejects, before the global fit
    transform: ModelKind = "affine"
    tile_size: int = 512
    tile_overlap: int = 0
    max_shift: int = 40  # reference-grid pixels
    # The most local searches (template or keypoint searches) over the whole scene; the matcher thins its
    # searches per tile to stay near it when the scene has many tiles. None: every tile at full density.
    # A global transform needs a few hundred well-spread inliers; 2000 searches give about 900 on the
    # benchmark scenes, as accurate as 6000 (BENCHMARKS.md) at half the matching time.
    search_budget: int | None = 2000
    screening: ScreeningThresholds = field(default_factory=ScreeningThresholds)
    gates: FitGates = field(default_factory=FitGates)
    resample: bool = False
    quicklook: bool = False  # also write the PNG quicklooks (checkerboard before/after, residual map)
    device: str = "auto"
    seed: int = 0


@dataclass(frozen=True)
class Plan:
    """A scene pair ready to be matched: inputs, overlap, tiles to read and tiles left out."""

    reference: RasterInfo
    sar: RasterInfo
    overlap: Polygon  # reference CRS
    recipes: list[TileRecipe]
    outside: list[Tile]  # grid cells with too little of their area in the overlap
    tiles: list[Tile]
    matcher_options: tuple[tuple[str, object], ...]  # the user's, plus the thinning for this scene's size

    @property
    def grid(self) -> ReferenceGrid:
        """The reference grid every tile is matched on (shared by all recipes; a plan has at least one)."""
        return self.recipes[0].grid

    @property
    def reference_source(self) -> RasterSource:
        """The reference as the tiles read it: path, bands, scalings, nodata."""
        return self.recipes[0].reference

    @property
    def sar_source(self) -> RasterSource:
        """The SAR as the tiles read it: path, band, scaling, nodata."""
        return self.recipes[0].sar

    @property
    def overlap_px(self) -> Polygon:
        """The overlap in reference-grid pixels (x, y)."""
        inverse = ~self.reference.transform
        return shapely.transform(self.overlap, lambda xy: map_points(inverse, xy))


def _require(ok: bool, option: str, problem: str) -> None:
    if not ok:
        raise OptionError(option, problem)


def check_options(options: RegisterOptions) -> None:
    """Check every option's value before any file is opened (the message names the command-line option).

    Raises:
        OptionError: the first option whose value cannot work.
    """
    low, high = TILE_SIZE_RANGE
    _require(options.sar_band >= 1, "--sar-band", f"bands count from 1, got {options.sar_band}")
    _require(all(b >= 1 for b in options.reference_bands or ()), "--reference-bands", "bands count from 1")
    _require(low <= options.tile_size <= high, "--tile-size", f"must be {low} to {high} px, got {options.tile_size}")
    _require(0 <= options.tile_overlap <= options.tile_size // 2, "--tile-overlap",
             f"must be 0 to half the tile size ({options.tile_size // 2} px), got {options.tile_overlap}")
    _require(1 <= options.max_shift <= MAX_SHIFT_LIMIT, "--max-shift",
             f"must be 1 to {MAX_SHIFT_LIMIT} px, got {options.max_shift}")
    _require(options.search_budget is None or options.search_budget >= 1, "--search-budget",
             f"must be positive (0: no thinning), got {options.search_budget}")
    g = options.gates
    _require(g.inlier_threshold_px > 0, "--inlier-threshold", f"must be positive, got {g.inlier_threshold_px}")
    _require(g.min_inliers >= 3, "--min-inliers", f"must be at least 3, got {g.min_inliers}")
    _require(g.max_rmse_px > 0, "--max-rmse", f"must be positive, got {g.max_rmse_px}")
    _require(0 < g.max_rotation_deg <= 45, "--max-rotation", f"must be above 0 and at most 45°, got {g.max_rotation_deg}")
    _require(0 < g.max_scale_change <= 0.5, "--max-scale-change",
             f"must be above 0 and at most 50 %, got {g.max_scale_change * 100:g} %")
    _require(0 <= options.screening.min_valid_fraction <= 1, "--min-valid",
             f"must be 0 to 1, got {options.screening.min_valid_fraction}")
    _require(options.screening.min_structure >= 0, "--min-structure", f"must be ≥ 0, got {options.screening.min_structure}")
    _require(options.device in ("auto", "cpu", "cuda"), "--device", f"must be auto, cpu or cuda, got {options.device!r}")
    _require(options.transform in get_args(ModelKind), "--transform",
             f"must be {' or '.join(get_args(ModelKind))}, got {options.transform!r}")
    _require(options.sar_scale in get_args(SarScale), "--sar-scale",
             f"must be {', '.join(get_args(SarScale))}, got {options.sar_scale!r}")
    if options.matcher not in registry.available():
        raise OptionError("--matcher", f"unknown matcher {options.matcher!r}; available: {', '.join(registry.available())}")
    try:
        registry.check_settings(options.matcher, dict(options.matcher_options))
    except ValueError as error:
        raise OptionError("--matcher-option", str(error)) from None


def plan_pair(reference: str, sar: str, options: RegisterOptions) -> Plan:
    """Open and check both inputs and cut the tile grid over their overlap.

    Raises:
        InputError: a file is not a raster, lacks a CRS, lacks a band, holds no data, or the two do not overlap.
    """
    ref_info = open_raster(reference, "reference")
    sar_info = open_raster(sar, "SAR", allow_gcps=True)
    ref_bands = options.reference_bands or tuple(range(1, ref_info.count + 1))
    check_bands(ref_info, ref_bands, "reference")
    check_bands(sar_info, (options.sar_band,), "SAR")
    overlap = overlap_in_reference_crs(ref_info, sar_info)
    sar_nodata = options.sar_nodata if options.sar_nodata is not None else sar_info.nodata
    reference_source = RasterSource(
        ref_info.path,
        ref_bands,
        tuple(band_scaling(ref_info.path, b, ref_info.nodata, "reference") for b in ref_bands),
        ref_info.nodata,
    )
    sar_source = RasterSource(
        sar_info.path,
        (options.sar_band,),
        (band_scaling(sar_info.path, options.sar_band, sar_nodata, "SAR", options.sar_scale),),
        sar_nodata,
    )
    grid = ReferenceGrid(ref_info.crs.to_wkt(), ref_info.transform, ref_info.width, ref_info.height)
    matcher = registry.build(options.matcher, device="cpu", **dict(options.matcher_options))
    margin = matcher.margin(options.max_shift)
    area = overlap_window(overlap, ref_info.transform, ref_info.width, ref_info.height)
    tiles = tile_grid(area, options.tile_size, options.tile_overlap)
    coverage = {(t.row, t.col): _coverage(t.polygon(ref_info.transform), overlap) for t in tiles}
    recipes, outside = [], []
    for tile in tiles:
        if coverage[tile.row, tile.col] < MIN_TILE_COVERAGE:
            outside.append(tile)
            continue
        # A strip shared with the tile before is left to that tile only where it lies wholly in the overlap
        # (near the overlap's edge the neighbour may be left out or screened, and the strip would be lost).
        covered = (
            tile.covered[0] if coverage.get((tile.row, tile.col - 1), 0.0) >= FULL_COVERAGE else 0,
            tile.covered[1] if coverage.get((tile.row - 1, tile.col), 0.0) >= FULL_COVERAGE else 0,
        )
        recipes.append(TileRecipe(tile.tile_id, tile.window, reference_source, sar_source, grid, margin, covered))
    if not recipes:
        raise InputError(sar_info.path, "its overlap with the reference is too small to hold a tile")
    matcher_options = scene_matcher_options(matcher, options, len(recipes), min(int(area.width), int(area.height)))
    return Plan(ref_info, sar_info, overlap, recipes, outside, tiles, matcher_options)


def _coverage(tile: Polygon, overlap: Polygon) -> float:
    """The fraction of a tile's area inside the overlap (both in the reference CRS)."""
    return tile.intersection(overlap).area / tile.area


def scene_matcher_options(
    matcher: Matcher, options: RegisterOptions, tile_count: int, overlap_side: int
) -> tuple[tuple[str, object], ...]:
    """The user's matcher options, plus the matcher's settings for small inputs (whose overlap is only
    ``overlap_side`` px on its shorter side) or its thinning to keep ``tile_count`` tiles within the search
    budget; a setting the user gave explicitly is never overridden."""
    adapted = matcher.sized_for(overlap_side)
    if not adapted and options.search_budget is not None:
        adapted = matcher.thinned(max(1, options.search_budget // tile_count), options.tile_size)
    return tuple(sorted((adapted | dict(options.matcher_options)).items()))
