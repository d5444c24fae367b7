"""Every option of a registration, declared once: its flag, default, help, check and place in
:class:`RegisterOptions`.

``sarlign register`` and ``sarlign batch`` take their options from :data:`OPTIONS` (see
:mod:`sarlign.pipeline.command_options`), and a pairs file's columns named after them override them per pair
(:func:`cell_value`). An option's
*value* is what the command line gives (``--max-scale-change 2``, percent); its *field* is where that lands in
:class:`RegisterOptions` (``gates.max_scale_change = 0.02``).

This module is light on purpose: ``--help`` and every exit-2 check run before torch or Dask is imported.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal, get_args

from sarlign.errors import OptionError
from sarlign.georef.calibration import Calibration
from sarlign.georef.gates import FitGates, TransformKind
from sarlign.tiling.scaling import SarScale
from sarlign.tiling.screening import ScreeningThresholds

Device = Literal["auto", "cpu", "cuda"]
RESAMPLINGS = ("nearest", "bilinear", "cubic", "average")
# COG driver options a user may set; the overviews are sarlign's own (averaged in linear power).
LOSSLESS_COMPRESSION = ("NONE", "LZW", "DEFLATE", "ZSTD", "LZMA", "PACKBITS", "LERC", "LERC_DEFLATE", "LERC_ZSTD")
CREATION_OPTION_KEYS = ("COMPRESS", "LEVEL", "PREDICTOR", "QUALITY", "BLOCKSIZE", "BIGTIFF", "NUM_THREADS", "MAX_Z_ERROR")
# The largest --max-shift: Sentinel-1/2 misregistrations are tens of metres, a few hundred at worst; each
# tile's SAR read grows by twice the shift on each side (a 512² tile reads 1536² at 500 px).
MAX_SHIFT_LIMIT = 500
TILE_SIZE_RANGE = (64, 4096)
LIST_SEPARATOR = ";"  # between the items of a repeatable option in a pairs file's cell: "template=128;stride=32"


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
    device: Device = "auto"
    seed: int = 0


Kind = Literal["text", "int", "float", "flag", "choice", "list"]


def _matchers() -> tuple[str, ...]:
    from sarlign.models import registry  # the matchers' modules import torch: only when choices are asked for

    return tuple(registry.available())


@dataclass(frozen=True)
class Option:
    """One option: ``--NAME-WITH-DASHES`` on the command line, column ``NAME`` in a pairs file.

    ``field`` is its place in :class:`RegisterOptions` (dotted for the nested gates and screening), None for
    an option that shapes how a run goes rather than its result (workers, progress); those are the same
    for a whole batch. ``to_field`` turns the option's value into the field's; ``from_field`` the field's
    default into the option's (the two are the identity for most options).
    """

    name: str
    kind: Kind
    help: str
    panel: str
    field: str | None = None
    choices: tuple[str, ...] | Callable[[], tuple[str, ...]] = ()
    to_field: Callable[[object], object] = lambda value: value
    from_field: Callable[[object], object] = lambda value: value
    default: object = None  # the value of a run option (one without a field)
    short: str | None = None  # a one-letter alias, e.g. -q
    negatable: bool = False  # --verify/--no-verify

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def per_pair(self) -> bool:
        """Whether a pairs file's column may set it for one pair."""
        return self.field is not None

    @property
    def allowed(self) -> tuple[str, ...]:
        """A choice option's values."""
        return self.choices() if callable(self.choices) else self.choices

    @property
    def default_value(self) -> object:
        """The option's value when it is not given: its field's default in :class:`RegisterOptions`."""
        if self.field is None:
            return self.default
        value: object = RegisterOptions()
        for part in self.field.split("."):
            value = getattr(value, part)
        return self.from_field(value)


def _bands(text: object) -> tuple[str, ...] | None:
    """``4,3,2`` or ``B04,B03,B02`` to band selectors (checked by :func:`check_options`)."""
    from sarlign.tiling.inputs import band_selectors

    return band_selectors(str(text)) if text else None


def _resolution(text: object) -> tuple[float, float] | None:
    """``10`` or ``10,20`` to (x, y)."""
    if text is None:
        return None
    try:
        parts = [float(part) for part in str(text).split(",")]
    except ValueError:
        raise OptionError("--target-resolution", f"expected X or X,Y, got {text!r}") from None
    if len(parts) not in (1, 2):
        raise OptionError("--target-resolution", f"expected X or X,Y, got {text!r}")
    return (parts[0], parts[-1])


def _creation_options(items: object) -> tuple[tuple[str, str], ...]:
    """KEY=VALUE strings to (KEY, VALUE) pairs, keys upper-case as GDAL spells them."""
    parsed = []
    for item in items:  # type: ignore[attr-defined]
        key, equals, value = item.partition("=")
        if not equals or not key.strip():
            raise OptionError("--co", f"expected KEY=VALUE, got {item!r}")
        parsed.append((key.strip().upper(), value.strip()))
    return tuple(parsed)


def _matcher_settings(items: object) -> tuple[tuple[str, object], ...]:
    """KEY=VALUE strings to (key, value) pairs; values are read as int, float or bool when they look so."""
    parsed = []
    for item in items:  # type: ignore[attr-defined]
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise OptionError("--matcher-option", f"expected KEY=VALUE, got {item!r}")
        value: object = text
        for cast in (int, float):
            try:
                value = cast(text)
                break
            except ValueError:
                pass
        if text in ("true", "false"):
            value = text == "true"
        parsed.append((key, value))
    return tuple(parsed)


def _settings_text(pairs: object) -> list[str]:
    return [f"{key}={value}" for key, value in pairs]  # type: ignore[attr-defined]


INPUTS, MATCHING, FIT, OUTPUTS, RUNNING = "Inputs", "Matching", "Fit and its gates", "Outputs", "Running"
OPTIONS: tuple[Option, ...] = (
    Option("reference_bands", "text", "Reference band(s), comma-separated: numbers from 1, or names (Sentinel-2 B08 or B8, B04,B03,B02, nir; a band description). Default: B8 for a Sentinel-2 product, else all bands, each scaled to its 2-98% range, averaged to grey.",
           INPUTS, "reference_bands", to_field=_bands, from_field=lambda bands: ",".join(bands) if bands else None),
    Option("sar_band", "text", "SAR band to match: a number from 1 or a name (VV, VH, a band description). Default: VV for a Sentinel-1 product, else band 1. Every band of the raster read is written to the output.",
           INPUTS, "sar_band", to_field=lambda text: str(text).strip() if text else None),
    Option("mask_clouds", "flag", "Leave out the reference pixels a Sentinel-2 L2A product's scene classification (SCL) calls cloud, cloud shadow or cirrus.",
           INPUTS, "mask_clouds"),
    Option("calibrate", "choice", "The written SAR holds the Sentinel-1 GRD product's DN calibrated with its LUT (float32 linear power) instead of the DN. Needs a GRD product (SAFE folder or zip) on this machine.",
           INPUTS, "calibrate", choices=get_args(Calibration)),
    Option("sar_scale", "choice", "SAR values: linear (power/amplitude, taken to dB), db, or auto (dB if any value is negative).",
           INPUTS, "sar_scale", choices=get_args(SarScale)),
    Option("sar_nodata", "float", "SAR nodata value, overriding the file's.", INPUTS, "sar_nodata"),
    Option("matcher", "choice", "Matcher name (see `sarlign matchers`).", MATCHING, "matcher", choices=_matchers),
    Option("matcher_option", "list", "Matcher setting KEY=VALUE (repeatable), e.g. template=128.", MATCHING,
           "matcher_options", to_field=_matcher_settings, from_field=_settings_text),
    Option("verify", "flag", "Drop tie points the learned patch verifier rejects before the global fit.", MATCHING,
           "verify", negatable=True),
    Option("tile_size", "int", "Tile side in reference pixels.", MATCHING, "tile_size"),
    Option("tile_overlap", "int", "Overlap between neighbouring tiles in reference pixels.", MATCHING, "tile_overlap"),
    Option("max_shift", "int", "Largest misregistration searched for, in reference pixels.", MATCHING, "max_shift"),
    Option("search_budget", "int", "Most local searches over the whole scene: on large scenes the matcher searches fewer places per tile (never sparser than templates side by side). 0: full density everywhere.",
           MATCHING, "search_budget", to_field=lambda budget: budget or None, from_field=lambda budget: budget or 0),
    Option("min_valid", "float", "Skip tiles with a smaller fraction of valid pixels.", MATCHING, "screening.min_valid_fraction"),
    Option("min_structure", "float", "Skip tiles flatter than this (mean gradient of the 0-1 scaled image).", MATCHING,
           "screening.min_structure"),
    Option("transform", "choice", "The model fitted: affine, translation, polynomial2, polynomial3, local (a smooth field over the affine, kriged from the tie points and faded to it beyond them) or auto (the simplest that predicts held-out tie points as well as the best). The richer models give the SAR a grid of GCPs instead of a geotransform; --resample warps through the model itself.",
           FIT, "transform", choices=get_args(TransformKind)),
    Option("min_inliers", "int", "Refuse a fit with fewer inlier tie points.", FIT, "gates.min_inliers"),
    Option("max_rmse", "float", "Refuse a fit whose inlier or held-out RMSE exceeds this (reference pixels).", FIT, "gates.max_rmse_px"),
    Option("inlier_threshold", "float", "Residual (reference pixels) below which a tie point is an inlier.", FIT,
           "gates.inlier_threshold_px"),
    Option("max_rotation", "float", "Refuse a fit that rotates either map axis by more than this (degrees): Sentinel-1 and -2 products are north-up, so a large rotation comes from wrong tie points.",
           FIT, "gates.max_rotation_deg"),
    Option("max_scale_change", "float", "Refuse a fit that changes the scale along either axis by more than this (percent).", FIT,
           "gates.max_scale_change", to_field=lambda percent: float(percent) / 100, from_field=lambda share: share * 100),
    Option("resample", "flag", "Also write the SAR warped onto the reference grid (or the grid --target-crs and --target-resolution give).",
           OUTPUTS, "resample"),
    Option("target_crs", "text", "With --resample: the resampled output's CRS (e.g. EPSG:32633), covering the reference's extent. Default: the reference's.",
           OUTPUTS, "target_crs"),
    Option("target_resolution", "text", "With --resample: its pixel size in the target CRS's units, X or X,Y; pixel edges on multiples of it. Default: the reference's grid.",
           OUTPUTS, "target_resolution", to_field=_resolution),
    Option("resampling", "choice", "With --resample: nearest, bilinear, cubic or average (average of linear power, as the overviews).",
           OUTPUTS, "resampling", choices=RESAMPLINGS),
    Option("co", "list", "COG creation option KEY=VALUE for the raster outputs (repeatable), e.g. COMPRESS=ZSTD; keys: COMPRESS, LEVEL, PREDICTOR, QUALITY, BLOCKSIZE, BIGTIFF, NUM_THREADS, MAX_Z_ERROR.",
           OUTPUTS, "creation_options", to_field=_creation_options, from_field=_settings_text),
    Option("quicklook", "flag", "Also write three PNG pictures beside the output: NAME_checkerboard.png (reference and SAR squares before and after, with a full-resolution zoom), NAME_residuals.png (tie-point residual arrows over the scene) and NAME_field.png (the field a richer --transform applies beyond the affine, or the one a local field would apply).",
           OUTPUTS, "quicklook"),
    Option("overwrite", "flag", "Replace existing outputs (a batch: register again the pairs an earlier run completed).", OUTPUTS,
           default=False),
    Option("scheduler", "text", "Address of a running Dask scheduler (default: start a local cluster).", RUNNING),
    Option("workers", "int", "Local cluster worker processes (default: one per core; a register job of at most 16 tiles then runs on threads in the sarlign process instead, which start at once).",
           RUNNING),
    Option("device", "choice", "auto (CUDA when present), cpu or cuda.", RUNNING, "device", choices=get_args(Device)),
    Option("quiet", "flag", "No progress bar or summary.", RUNNING, default=False, short="-q"),
    Option("progress_lines", "flag", "Report progress as plain lines 'PROGRESS tiles 3/40' on stderr instead of bars (for programs driving sarlign, e.g. the QGIS plugin).",
           RUNNING, default=False),
)
BY_NAME: dict[str, Option] = {option.name: option for option in OPTIONS}
PER_PAIR: dict[str, Option] = {option.name: option for option in OPTIONS if option.per_pair}


def flag(name: str) -> str:
    """The command-line flag of option ``name`` (``max_rotation`` → ``--max-rotation``)."""
    return BY_NAME[name].flag


def option_named(flag_or_name: str) -> Option:
    """The option a flag (``--max-rotation``) or name (``max_rotation``) names."""
    return BY_NAME[flag_or_name.lstrip("-").replace("-", "_")]


def defaults() -> dict[str, object]:
    """Every option's value when none is given."""
    return {option.name: option.default_value for option in OPTIONS}


def register_options(values: Mapping[str, object]) -> RegisterOptions:
    """The :class:`RegisterOptions` that option values give (missing ones take their defaults).

    Raises:
        OptionError: a value that cannot be read (``--target-resolution 10,x``).
    """
    top: dict[str, object] = {}
    nested: dict[str, dict[str, object]] = {}
    for option in OPTIONS:
        if option.field is None or option.name not in values:
            continue
        value = option.to_field(values[option.name])
        group, _, leaf = option.field.rpartition(".")
        (nested.setdefault(group, {}) if group else top)[leaf] = value
    base = RegisterOptions()
    for group, changes in nested.items():
        top[group] = dataclasses.replace(getattr(base, group), **changes)
    return dataclasses.replace(base, **top)


_TRUE, _FALSE = ("true", "yes", "1", "on"), ("false", "no", "0", "off", "")


def cell_value(name: str, text: str) -> object:
    """The value of a pairs file's cell in column ``name`` (a per-pair option), as the command line would give it.

    Raises:
        ValueError: text the option's kind cannot hold.
    """
    option, text = PER_PAIR[name], text.strip()
    if option.kind == "int":
        return int(text)
    if option.kind == "float":
        return float(text)
    if option.kind == "flag":
        if text.lower() not in _TRUE + _FALSE:
            raise ValueError(f"expected true or false, got {text!r}")
        return text.lower() in _TRUE
    if option.kind == "list":
        return [item.strip() for item in text.split(LIST_SEPARATOR) if item.strip()]
    return text


def _require(ok: bool, name: str, problem: str) -> None:
    if not ok:
        raise OptionError(flag(name), problem)


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
    _require(_band_selector_ok(options.sar_band or "1"), "sar_band", f"a band number from 1 or a name, got {options.sar_band!r}")
    _require(options.reference_bands != (), "reference_bands", "names no band")
    _require(all(map(_band_selector_ok, options.reference_bands or ())), "reference_bands",
             f"band numbers from 1 or names, got {','.join(options.reference_bands or ())!r}")
    _require(low <= options.tile_size <= high, "tile_size", f"must be {low} to {high} px, got {options.tile_size}")
    _require(0 <= options.tile_overlap <= options.tile_size // 2, "tile_overlap",
             f"must be 0 to half the tile size ({options.tile_size // 2} px), got {options.tile_overlap}")
    _require(1 <= options.max_shift <= MAX_SHIFT_LIMIT, "max_shift", f"must be 1 to {MAX_SHIFT_LIMIT} px, got {options.max_shift}")
    _require(options.search_budget is None or options.search_budget >= 1, "search_budget",
             f"must be positive (0: no thinning), got {options.search_budget}")
    g = options.gates
    _require(g.inlier_threshold_px > 0, "inlier_threshold", f"must be positive, got {g.inlier_threshold_px}")
    _require(g.min_inliers >= 3, "min_inliers", f"must be at least 3, got {g.min_inliers}")
    _require(g.max_rmse_px > 0, "max_rmse", f"must be positive, got {g.max_rmse_px}")
    _require(0 < g.max_rotation_deg <= 45, "max_rotation", f"must be above 0 and at most 45°, got {g.max_rotation_deg}")
    _require(0 < g.max_scale_change <= 0.5, "max_scale_change",
             f"must be above 0 and at most 50 %, got {g.max_scale_change * 100:g} %")
    _require(0 <= options.screening.min_valid_fraction <= 1, "min_valid",
             f"must be 0 to 1, got {options.screening.min_valid_fraction}")
    _require(options.screening.min_structure >= 0, "min_structure", f"must be ≥ 0, got {options.screening.min_structure}")
    for name in ("device", "transform", "sar_scale", "calibrate", "resampling"):
        value, allowed = getattr(options, name), BY_NAME[name].allowed
        _require(value in allowed or (name == "calibrate" and value is None), name,
                 f"must be one of {', '.join(allowed)}, got {value!r}")
    _check_output_options(options)
    matchers = _matchers()
    _require(options.matcher in matchers, "matcher", f"unknown matcher {options.matcher!r}; available: {', '.join(matchers)}")
    from sarlign.models import registry

    try:
        registry.check_settings(options.matcher, dict(options.matcher_options))
    except ValueError as error:
        raise OptionError(flag("matcher_option"), str(error)) from None


def _check_output_options(options: RegisterOptions) -> None:
    """The resampled output's settings and the creation options: each valid, and the grid settings only
    with ``--resample``."""
    from rasterio.crs import CRS
    from rasterio.errors import CRSError

    for name, given in (("target_crs", options.target_crs), ("target_resolution", options.target_resolution),
                        ("resampling", options.resampling != "bilinear")):
        _require(not given or options.resample, name, "shapes the resampled output; add --resample")
    if options.target_crs is not None:
        try:
            target = CRS.from_user_input(options.target_crs)
        except CRSError as error:
            raise OptionError(flag("target_crs"), f"not a CRS GDAL knows ({error})") from None
        _require(target.is_projected or target.is_geographic, "target_crs",
                 f"{options.target_crs} is neither projected nor geographic (a map grid needs one)")
    _require(options.target_resolution is None or min(options.target_resolution) > 0, "target_resolution",
             f"must be positive, got {options.target_resolution}")
    for key, value in options.creation_options:
        _require(key in CREATION_OPTION_KEYS, "co", f"{key} is not one of {', '.join(CREATION_OPTION_KEYS)}")
        _require(key != "COMPRESS" or value.upper() in LOSSLESS_COMPRESSION, "co",
                 f"COMPRESS={value}: SAR outputs keep their values; choose one of {', '.join(LOSSLESS_COMPRESSION)}")
