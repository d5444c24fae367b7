"""Planning a scene pair: validate inputs, find the overlap, cut the tile grid, write the read recipes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import get_args

import shapely
from rasterio.crs import CRS
from rasterio.errors import CRSError
from shapely.geometry import Polygon

from sarlign.coords import map_points
from sarlign.errors import InputError, OptionError
from sarlign.georef.calibration import Calibration, CalibrationLut, read_lut
from sarlign.georef.fit import FitGates, TransformKind
from sarlign.georef.raster_out import check_creation_options
from sarlign.models import registry
from sarlign.models.base import Matcher
from sarlign.tiling.grid import Tile, overlap_window, tile_grid
from sarlign.tiling.inputs import Input, product_file, resolve_input
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

    # Bands by number ("3") or name ("B08", "VV", a band description); see sarlign.tiling.inputs. None: a
    # product's default (Sentinel-2 B8, Sentinel-1 VV); for a plain raster all reference bands, each
    # scaled, averaged to grey, and SAR band 1.
    reference_bands: tuple[str, ...] | None = None
    sar_band: str | None = None
    mask_clouds: bool = False  # leave out what a Sentinel-2 L2A reference's scene classification calls cloud
    calibrate: str | None = None  # sigma0, beta0 or gamma0: write a Sentinel-1 GRD's calibrated power
    sar_scale: SarScale = "auto"
    sar_nodata: float | None = None  # None: the file's own nodata value
    matcher: str = "cfog"
    matcher_options: tuple[tuple[str, object], ...] = ()
    verify: bool = False  # drop tie points the patch verifier rejects, before the global fit
    transform: TransformKind = "affine"
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
    # The resampled output's grid and how it is made (see georef.raster_out.resampling_grid): by default
    # the reference grid, bilinear.
    target_crs: str | None = None
    target_resolution: tuple[float, float] | None = None  # x, y in the target CRS's units
    resampling: str = "bilinear"
    creation_options: tuple[tuple[str, str], ...] = ()  # COG driver options for the raster outputs
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


def _require(ok: bool, option: str, problem: str) -> None:
    if not ok:
        raise OptionError(option, problem)


def _band_selector_ok(selector: str) -> bool:
    """A band number from 1, or a name (checked against the input when it is opened)."""
    text = selector.strip()
    if text.lstrip("+-").isdigit():
        return text.isdigit() and int(text) >= 1  # no sign: "+1" is not a band GDAL numbers
    return bool(text)


def check_options(options: RegisterOptions) -> None:
    """Check every option's value before any file is opened (the message names the command-line option).

    Raises:
        OptionError: the first option whose value cannot work.
    """
    low, high = TILE_SIZE_RANGE
    _require(_band_selector_ok(options.sar_band or "1"), "--sar-band", f"a band number from 1 or a name, got {options.sar_band!r}")
    _require(options.reference_bands != (), "--reference-bands", "names no band")
    _require(all(map(_band_selector_ok, options.reference_bands or ())), "--reference-bands",
             f"band numbers from 1 or names, got {','.join(options.reference_bands or ())!r}")
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
    _require(options.transform in get_args(TransformKind), "--transform",
             f"must be one of {', '.join(get_args(TransformKind))}, got {options.transform!r}")
    _require(options.sar_scale in get_args(SarScale), "--sar-scale",
             f"must be {', '.join(get_args(SarScale))}, got {options.sar_scale!r}")
    _check_output_options(options)
    _require(options.calibrate in (None, *get_args(Calibration)), "--calibrate",
             f"must be {', '.join(get_args(Calibration))}, got {options.calibrate!r}")
    if options.matcher not in registry.available():
        raise OptionError("--matcher", f"unknown matcher {options.matcher!r}; available: {', '.join(registry.available())}")
    try:
        registry.check_settings(options.matcher, dict(options.matcher_options))
    except ValueError as error:
        raise OptionError("--matcher-option", str(error)) from None


RESAMPLINGS = ("nearest", "bilinear", "cubic", "average")
# COG driver options a user may set; the overviews are sarlign's own (averaged in linear power).
LOSSLESS_COMPRESSION = ("NONE", "LZW", "DEFLATE", "ZSTD", "LZMA", "PACKBITS", "LERC", "LERC_DEFLATE", "LERC_ZSTD")
CREATION_OPTION_KEYS = ("COMPRESS", "LEVEL", "PREDICTOR", "QUALITY", "BLOCKSIZE", "BIGTIFF", "NUM_THREADS", "MAX_Z_ERROR")


def _check_output_options(options: RegisterOptions) -> None:
    """The resampled output's settings and the creation options: each valid, and the grid settings only
    with ``--resample``."""
    for option, given in (("--target-crs", options.target_crs), ("--target-resolution", options.target_resolution),
                          ("--resampling", options.resampling != "bilinear")):
        _require(not given or options.resample, option, "shapes the resampled output; add --resample")
    _require(options.resampling in RESAMPLINGS, "--resampling",
             f"must be one of {', '.join(RESAMPLINGS)}, got {options.resampling!r}")
    if options.target_crs is not None:
        try:
            target = CRS.from_user_input(options.target_crs)
        except CRSError as error:
            raise OptionError("--target-crs", f"not a CRS GDAL knows ({error})") from None
        _require(target.is_projected or target.is_geographic, "--target-crs",
                 f"{options.target_crs} is neither projected nor geographic (a map grid needs one)")
    _require(options.target_resolution is None or min(options.target_resolution) > 0, "--target-resolution",
             f"must be positive, got {options.target_resolution}")
    for key, value in options.creation_options:
        _require(key in CREATION_OPTION_KEYS, "--co", f"{key} is not one of {', '.join(CREATION_OPTION_KEYS)}")
        _require(key != "COMPRESS" or value.upper() in LOSSLESS_COMPRESSION, "--co",
                 f"COMPRESS={value}: SAR outputs keep their values; choose one of {', '.join(LOSSLESS_COMPRESSION)}")


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
