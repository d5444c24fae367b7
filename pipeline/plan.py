"""Planning a scene pair: validate inputs, find the overlap, cut the tile grid, write the read recipes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass

import shapely
from shapely.geometry import Polygon

from sarlign.coords import map_points
from sarlign.errors import InputError
from sarlign.georef.calibration import CalibrationLut, read_lut
from sarlign.georef.raster_out import check_creation_options
from sarlign.models import registry
from sarlign.models.base import Matcher
from sarlign.pipeline.options import RegisterOptions
from sarlign.tiling.grid import Tile, overlap_window, tile_grid
from sarlign.tiling.inputs import Input, product_file, resolve_input
from sarlign.tiling.recipe import RasterSource, ReferenceGrid, TileRecipe
from sarlign.tiling.scaling import band_scaling
from sarlign.tiling.scene import RasterInfo, check_bands, open_raster, overlap_in_reference_crs

MIN_TILE_COVERAGE = 0.05  # tiles with less of their area inside the overlap are not read at all
FULL_COVERAGE = 0.999  # a tile with this much of its area inside the overlap lies wholly in it


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
    inputs: tuple[Input, Input]  # reference and SAR as given, and the datasets and bands they resolved to
    sar_calibration: CalibrationLut | None = None  # with --calibrate: the LUT the written SAR is calibrated by

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
    ref_input = resolve_input(reference, "reference", options.reference_bands, options.mask_clouds)
    sar_input = resolve_input(sar, "SAR", None if options.sar_band is None else (options.sar_band,))
    ref_info = open_raster(ref_input.dataset, "reference")
    sar_info = open_raster(sar_input.dataset, "SAR", allow_gcps=True)
    ref_bands = ref_input.bands or tuple(range(1, ref_info.count + 1))
    sar_band = (sar_input.bands or (1,))[0]
    check_bands(ref_info, ref_bands, "reference")
    check_bands(sar_info, (sar_band,), "SAR")
    overlap = overlap_in_reference_crs(ref_info, sar_info)
    sar_nodata = _first_given(options.sar_nodata, sar_info.nodata, sar_input.nodata)
    ref_nodata = _first_given(ref_info.nodata, ref_input.nodata)
    reference_source = RasterSource(
        ref_info.path,
        ref_bands,
        tuple(band_scaling(ref_info.path, b, ref_nodata, "reference") for b in ref_bands),
        ref_nodata,
        ref_input.mask,
    )
    sar_source = RasterSource(
        sar_info.path,
        (sar_band,),
        (band_scaling(sar_info.path, sar_band, sar_nodata, "SAR", options.sar_scale),),
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
    calibration = _calibration(sar_input, options.calibrate) if options.calibrate else None
    if options.creation_options:  # checked on the output's own dtype and bands, before any matching
        check_creation_options(options.creation_options, "float32" if calibration else sar_info.dtypes[0],
                               1 if calibration else sar_info.count)
    return Plan(ref_info, sar_info, overlap, recipes, outside, tiles, matcher_options, (ref_input, sar_input), calibration)


def _calibration(sar: Input, kind: str) -> CalibrationLut:
    """The SAR product's calibration LUT of ``kind`` for its polarisation.

    Raises:
        InputError: the SAR is not a Sentinel-1 GRD product on this machine, or its LUT is unreadable.
    """
    manifest, polarisation = sar.product.get("manifest"), sar.product.get("polarization", "")
    text = None
    if manifest:
        text = product_file(sar.location, str(manifest), f"annotation/calibration/calibration-*-{str(polarisation).lower()}-*.xml")
    if text is None:
        raise InputError(sar.location, "--calibrate needs a Sentinel-1 GRD product on this machine (SAFE folder or zip) with its calibration annotation")
    try:
        return read_lut(text, kind)  # type: ignore[arg-type]
    except (ValueError, ET.ParseError) as error:
        raise InputError(sar.location, f"its calibration annotation cannot be read ({error})") from None


def _first_given(*values: float | None) -> float | None:
    return next((v for v in values if v is not None), None)


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
