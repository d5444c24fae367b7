"""Planning a scene pair: validate inputs, find the overlap, cut the tile grid, write the read recipes."""

from __future__ import annotations

from dataclasses import dataclass, field

import shapely
from shapely.geometry import Polygon

from sarlign.coords import map_points
from sarlign.errors import InputError
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
    recipes, outside = [], []
    for tile in tiles:
        polygon = tile.polygon(ref_info.transform)
        if polygon.intersection(overlap).area < MIN_TILE_COVERAGE * polygon.area:
            outside.append(tile)
            continue
        recipes.append(TileRecipe(tile.tile_id, tile.window, reference_source, sar_source, grid, margin))
    if not recipes:
        raise InputError(sar_info.path, "its overlap with the reference is too small to hold a tile")
    return Plan(ref_info, sar_info, overlap, recipes, outside, tiles, scene_matcher_options(matcher, options, len(recipes)))


def scene_matcher_options(matcher: Matcher, options: RegisterOptions, tile_count: int) -> tuple[tuple[str, object], ...]:
    """The user's matcher options, plus the matcher's thinning to keep ``tile_count`` tiles within the
    search budget; a setting the user gave explicitly is never overridden."""
    if options.search_budget is None:
        return options.matcher_options
    thinning = matcher.thinned(max(1, options.search_budget // tile_count), options.tile_size)
    return tuple(sorted((thinning | dict(options.matcher_options)).items()))
