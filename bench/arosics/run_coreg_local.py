"""Run AROSICS ``COREG_LOCAL`` on a reference / SAR pair and report its time and measured shift as JSON.

    .venv-arosics/bin/python bench/arosics/run_coreg_local.py REFERENCE.tif SAR.tif --out arosics.json \
        [--workdir DIR] [--grid-res 256] [--window 256] [--max-shift 30] [--cpus 2]

Runs in AROSICS's own environment (``bash bench/arosics/setup.sh``), not in sarlign's: it imports neither
sarlign nor torch, so that the comparison is against AROSICS as its users install it.

Steps, each timed on its own:

1. ``prepare_s``: the SAR is warped with GDAL onto the reference's CRS at the reference's pixel size, its
   grid snapped to the reference's (bilinear, nodata kept), because AROSICS needs both images in one CRS;
   a reference without a nodata value gets one that its pixels do not use (see :func:`reference_nodata_value`).
2. ``coreg_s``: ``COREG_LOCAL(...)`` and its tie-point grid (``calculate_spatial_shifts``).
3. ``correct_s``: ``COREG_LOCAL.correct_shifts()``, which writes the corrected SAR into the work folder.

Sign convention of the reported ``displacement_m``: where the SAR shows a feature minus where the reference
shows it, in map units of the reference's CRS (x east, y north). AROSICS's ``X_SHIFT_M`` / ``Y_SHIFT_M`` are the
opposite, the correction to add to the target's (here: the SAR's) map coordinates, so
``displacement_m = -[X_SHIFT_M, Y_SHIFT_M]``; see :func:`displacement_from_arosics_shift` for where in AROSICS's
source this comes from.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import resource
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import arosics
import numpy as np
from arosics import COREG_LOCAL
from osgeo import gdal, osr

if TYPE_CHECKING:
    from geopandas import GeoDataFrame

gdal.UseExceptions()

FILL_VALUE = -9999  # AROSICS's default ``outFillVal``: marks tie points without a match in CoRegPoints_table
WARPED_NODATA = -9999.0  # nodata of the warped SAR where the SAR itself declares none (or NaN)


class InputError(Exception):
    """An input file that cannot be used, with the file's name in the message."""


class CoregistrationError(Exception):
    """AROSICS itself gave up on the pair (e.g. no overlap with valid data)."""


@dataclass(frozen=True)
class RasterInfo:
    """What the benchmark needs to know about one input GeoTIFF."""

    path: Path
    width: int
    height: int
    bands: int
    geotransform: tuple[float, ...]
    srs: osr.SpatialReference
    nodata: Optional[float]

    @property
    def pixel_size(self) -> tuple[float, float]:
        """Pixel width and height (both positive) in map units."""
        return abs(self.geotransform[1]), abs(self.geotransform[5])

    def bounds(self) -> tuple[float, float, float, float]:
        """(xmin, ymin, xmax, ymax) in the raster's own CRS (north-up rasters only)."""
        x0, dx, _, y0, _, dy = self.geotransform
        xs = (x0, x0 + dx * self.width)
        ys = (y0, y0 + dy * self.height)
        return min(xs), min(ys), max(xs), max(ys)


def open_raster(path: Path, band: int, role: str) -> RasterInfo:
    """Read the georeferencing of ``path``; raise :class:`InputError` naming the file if it is unusable."""
    if not path.is_file():
        raise InputError(f"{role} {path}: no such file")
    try:
        dataset = gdal.Open(str(path), gdal.GA_ReadOnly)
    except RuntimeError as error:
        raise InputError(f"{role} {path}: GDAL cannot read it ({error})") from error
    if dataset is None:
        raise InputError(f"{role} {path}: GDAL cannot read it")
    if not 1 <= band <= dataset.RasterCount:
        raise InputError(f"{role} {path}: has {dataset.RasterCount} band(s), band {band} was asked for")
    wkt = dataset.GetProjection()
    if not wkt:
        raise InputError(f"{role} {path}: has no CRS")
    geotransform = tuple(dataset.GetGeoTransform(can_return_null=True) or ())
    if not geotransform:
        raise InputError(f"{role} {path}: has no geotransform")
    if geotransform[2] != 0 or geotransform[4] != 0:
        raise InputError(f"{role} {path}: rotated geotransforms are not supported")
    srs = osr.SpatialReference()
    srs.ImportFromWkt(wkt)
    srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    return RasterInfo(
        path=path,
        width=dataset.RasterXSize,
        height=dataset.RasterYSize,
        bands=dataset.RasterCount,
        geotransform=geotransform,
        srs=srs,
        nodata=dataset.GetRasterBand(band).GetNoDataValue(),
    )


def crs_name(srs: osr.SpatialReference) -> str:
    """``AUTHORITY:CODE`` where the CRS has one, else its name."""
    authority, code = srs.GetAuthorityName(None), srs.GetAuthorityCode(None)
    return f"{authority}:{code}" if authority and code else (srs.GetName() or "unknown")


def snapped_bounds(sar: RasterInfo, reference: RasterInfo) -> tuple[float, float, float, float]:
    """The SAR's footprint in the reference's CRS, widened to whole pixels of the reference's grid."""
    transform = osr.CoordinateTransformation(sar.srs, reference.srs)
    xmin, ymin, xmax, ymax = transform.TransformBounds(*sar.bounds(), 21)
    ref_xmin, ref_ymin, ref_xmax, ref_ymax = reference.bounds()
    if xmin >= ref_xmax or xmax <= ref_xmin or ymin >= ref_ymax or ymax <= ref_ymin:
        raise InputError(f"SAR {sar.path}: does not overlap the reference {reference.path}")
    px, py = reference.pixel_size
    x0, y0 = reference.geotransform[0], reference.geotransform[3]
    return (
        x0 + math.floor((xmin - x0) / px) * px,
        y0 + math.floor((ymin - y0) / py) * py,
        x0 + math.ceil((xmax - x0) / px) * px,
        y0 + math.ceil((ymax - y0) / py) * py,
    )


def warp_sar(sar: RasterInfo, sar_band: int, reference: RasterInfo, destination: Path) -> float:
    """Warp band ``sar_band`` of the SAR onto the reference's CRS and grid; return the output's nodata value.

    Bilinear resampling at the reference's pixel size, aligned to the reference's pixel grid, written as a
    single-band float32 GeoTIFF. The SAR's nodata is kept (a NaN nodata, or none at all, becomes
    ``WARPED_NODATA`` so that AROSICS gets a finite value and the area outside the SAR is masked).
    """
    source_nodata = sar.nodata
    target_nodata = WARPED_NODATA if source_nodata is None or math.isnan(source_nodata) else source_nodata
    px, py = reference.pixel_size
    options = gdal.WarpOptions(
        format="GTiff",
        dstSRS=reference.srs.ExportToWkt(),
        outputBounds=snapped_bounds(sar, reference),
        xRes=px,
        yRes=py,
        resampleAlg="bilinear",
        outputType=gdal.GDT_Float32,
        srcNodata=source_nodata,
        dstNodata=target_nodata,
        creationOptions=["TILED=YES", "COMPRESS=DEFLATE"],
        multithread=True,
    )
    # One band through a VRT: gdal.Warp's own band selection needs GDAL >= 3.7.
    band_vrt = f"/vsimem/{destination.stem}_band{sar_band}.vrt"
    gdal.Translate(band_vrt, str(sar.path), options=gdal.TranslateOptions(format="VRT", bandList=[sar_band]))
    try:
        result = gdal.Warp(str(destination), band_vrt, options=options)
    finally:
        gdal.Unlink(band_vrt)
    if result is None:
        raise InputError(f"SAR {sar.path}: GDAL could not warp it onto the reference's CRS")
    result.FlushCache()
    result = None
    return float(target_nodata)


def reference_nodata_value(raster: RasterInfo, band: int) -> Optional[float]:
    """A nodata value for a reference band that declares none.

    Without an explicit value AROSICS guesses the nodata value from the image corners, and on a scene without
    nodata areas that guess is a valid grey level whose pixels are then masked. Here a corner's value is taken
    only where it is a conventional fill value (0, ``WARPED_NODATA`` or the type's extreme, as on a tile with a
    no-data margin); otherwise a value that the band's type can hold but the band does not contain (``WARPED_NODATA``, 0, else
    the smallest absent one). ``None`` (AROSICS's own guess) where the band holds every possible value.
    """
    dataset = gdal.Open(str(raster.path), gdal.GA_ReadOnly)
    values = dataset.GetRasterBand(band).ReadAsArray()
    corners = [values[0, 0].item(), values[0, -1].item(), values[-1, 0].item(), values[-1, -1].item()]
    if np.issubdtype(values.dtype, np.floating):
        fills = [value for value in corners if value in (0.0, WARPED_NODATA)]
        if fills:
            return float(max(set(fills), key=fills.count))
        return WARPED_NODATA if not np.any(values == WARPED_NODATA) else float(np.nanmin(values)) - 1.0
    limits = np.iinfo(values.dtype)
    fills = [value for value in corners if value in (0, WARPED_NODATA, limits.min, limits.max)]
    if fills:
        return float(max(set(fills), key=fills.count))
    present = np.unique(values)
    for candidate in (WARPED_NODATA, 0):
        if limits.min <= candidate <= limits.max and candidate not in present:
            return float(candidate)
    gaps = np.flatnonzero(np.diff(present.astype(np.int64)) > 1)
    if present.size and present[0] > limits.min:
        return float(limits.min)
    if gaps.size:
        return float(int(present[gaps[0]]) + 1)
    if present.size and present[-1] < limits.max:
        return float(limits.max)
    return None


def displacement_from_arosics_shift(
    x_shift_m: np.ndarray, y_shift_m: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Turn AROSICS's per-point ``X_SHIFT_M`` / ``Y_SHIFT_M`` into SAR-minus-reference displacements.

    How AROSICS (1.12) defines its shifts, with ``shift`` being the target image (here: the warped SAR):

    * ``arosics/CoReg.py``, ``COREG.calculate_spatial_shifts``::

          new_originX, new_originY = imXY2mapXY((self.x_shift_px, self.y_shift_px), self.shift.gt)
          self.x_shift_map, self.y_shift_map = new_originX - self.shift.gt[0], new_originY - self.shift.gt[3]

      and ``COREG._get_updated_map_info``::

          self.updated_map_info[3] = str(float(original_map_info[3]) + self.x_shift_map)
          self.updated_map_info[4] = str(float(original_map_info[4]) + self.y_shift_map)

      i.e. the map shift is what gets *added* to the target's upper-left easting / northing to correct it.
    * ``arosics/Tie_Point_Grid.py``, ``Tie_Point_Grid._get_spatial_shifts`` stores those per point as
      ``X_SHIFT_M`` / ``Y_SHIFT_M``, and ``Tie_Point_Grid.GCPList`` turns each point into a GCP::

          GDF['X_MAP_new'] = GDF.X_MAP + GDF.X_SHIFT_M
          GDF['Y_MAP_new'] = GDF.Y_MAP + GDF.Y_SHIFT_M
          ... gdal.GCP(GDF_row.X_MAP_new, GDF_row.Y_MAP_new, 0, GDF_row.X_IM, GDF_row.Y_IM)

      where ``X_IM`` / ``Y_IM`` is a pixel of the target and ``X_MAP`` / ``Y_MAP`` its map position under the
      target's own geotransform (``Tie_Point_Grid._get_imXY__mapXY_points``). So the feature the SAR shows at
      ``X_MAP`` belongs, by the reference, at ``X_MAP + X_SHIFT_M`` (y likewise, northing, north positive).
    * ``arosics/CoReg_local.py``, ``COREG_LOCAL.view_CoRegPoints`` plots ``-X_SHIFT_M``, ``-Y_SHIFT_M``
      with the comment "invert absolute shifts to make arrows point to tgt", which agrees.

    Hence where the SAR shows a feature minus where the reference shows it is
    ``X_MAP - (X_MAP + X_SHIFT_M) = -X_SHIFT_M`` east and ``-Y_SHIFT_M`` north.
    """
    return -np.asarray(x_shift_m, dtype=float), -np.asarray(y_shift_m, dtype=float)


def matched_tie_points(table: Optional[GeoDataFrame]) -> Optional[GeoDataFrame]:
    """The rows of AROSICS's ``CoRegPoints_table`` where a shift was measured (outliers included)."""
    if table is None or len(table) == 0 or "X_SHIFT_M" not in table.columns:
        return None
    keep = (table["X_SHIFT_M"] != FILL_VALUE) & (table["Y_SHIFT_M"] != FILL_VALUE)
    if "ABS_SHIFT" in table.columns:
        keep &= table["ABS_SHIFT"] != FILL_VALUE
    return table[keep.astype(bool)]


def valid_tie_points(table: Optional[GeoDataFrame]) -> Optional[GeoDataFrame]:
    """The matched rows of ``CoRegPoints_table`` that AROSICS's outlier filtering kept."""
    matched = matched_tie_points(table)
    if matched is None or "OUTLIER" not in matched.columns:
        return matched
    # OUTLIER is False for kept points, True for outliers and the fill value where there was no match.
    kept = matched["OUTLIER"].map(lambda flag: flag is not None and flag != FILL_VALUE and not bool(flag))
    return matched[kept.astype(bool)]


def displacement_stats(points: Optional[GeoDataFrame]) -> dict[str, Any]:
    """Mean, median and standard deviation of the SAR-minus-reference displacement over ``points``."""
    if points is None or len(points) == 0:
        return {"mean": None, "median": None, "std": None}
    dx, dy = displacement_from_arosics_shift(
        points["X_SHIFT_M"].to_numpy(dtype=float), points["Y_SHIFT_M"].to_numpy(dtype=float)
    )
    return {
        "mean": [float(np.mean(dx)), float(np.mean(dy))],
        "median": [float(np.median(dx)), float(np.median(dy))],
        "std": [float(np.std(dx)), float(np.std(dy))],
    }


def failure_reasons(table: Optional[GeoDataFrame]) -> dict[str, int]:
    """How many tie points failed for which reason (AROSICS's ``LAST_ERR``, numbers cut off)."""
    if table is None or "LAST_ERR" not in table.columns:
        return {}
    reasons = table["LAST_ERR"][table["LAST_ERR"].astype(str) != str(FILL_VALUE)].astype(str)
    reasons = (
        reasons.str.replace(r"\(X: .*", "(too large)", regex=True)
        .str.replace(r"np\.float64\(([^)]*)\)", r"\1", regex=True)
        .str.replace(r"\([-+\d.e, ]+\)(/\([-+\d.e, ]+\))?", "(...)", regex=True)
        .str.slice(0, 80)
    )
    return {str(reason): int(count) for reason, count in reasons.value_counts().items()}


def summarise_tie_points(table: Optional[GeoDataFrame]) -> dict[str, Any]:
    """Counts and mean / median displacement (SAR minus reference, map units) of the valid tie points.

    ``displacement_m`` and ``median_displacement_m`` use the valid points only (matched, not outliers); the
    same figures over all matched points, outliers included, are under ``all_matches`` for diagnosis.
    """
    matched = matched_tie_points(table)
    valid = valid_tie_points(table)
    valid_stats = displacement_stats(valid)
    return {
        "tie_points_total": 0 if table is None else int(len(table)),
        "tie_points_matched": 0 if matched is None else int(len(matched)),
        "tie_points_valid": 0 if valid is None else int(len(valid)),
        "displacement_m": valid_stats["mean"],
        "median_displacement_m": valid_stats["median"],
        "displacement_std_m": valid_stats["std"],
        "all_matches": displacement_stats(matched),
        "failures": failure_reasons(table),
    }


def peak_memory_mib() -> dict[str, float]:
    """Peak resident memory of this process and of its (finished) child processes, in MiB."""
    to_mib = 1 / 1024  # ru_maxrss is in KiB on Linux
    return {
        "self": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * to_mib,
        "children": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * to_mib,
    }


def coregister(
    args: argparse.Namespace,
    reference: RasterInfo,
    reference_nodata: Optional[float],
    warped: Path,
    sar_nodata: float,
    corrected: Path,
    workdir: Path,
) -> tuple[COREG_LOCAL, Optional[GeoDataFrame]]:
    """Set up ``COREG_LOCAL`` and compute its tie-point grid; return it and its ``CoRegPoints_table``."""
    coreg = COREG_LOCAL(
        str(reference.path),
        str(warped),
        grid_res=args.grid_res,
        window_size=(args.window, args.window),
        max_shift=args.max_shift,
        CPUs=args.cpus,
        nodata=(reference_nodata, sar_nodata),
        r_b4match=args.ref_band,
        s_b4match=1,
        path_out=str(corrected),
        fmt_out="GTIFF",
        projectDir=str(workdir),
        progress=False,
        q=True,
    )
    coreg.calculate_spatial_shifts()
    return coreg, coreg.CoRegPoints_table


def run(args: argparse.Namespace, workdir: Path) -> dict[str, Any]:
    """Warp, co-register and correct; return the report (without the memory figures)."""
    reference = open_raster(args.reference, args.ref_band, "reference")
    sar = open_raster(args.sar, args.sar_band, "SAR")
    if not reference.srs.IsProjected():
        raise InputError(f"reference {reference.path}: CRS {crs_name(reference.srs)} is not projected")

    started = time.perf_counter()
    warped = workdir / f"{args.sar.stem}_warped.tif"
    sar_nodata = warp_sar(sar, args.sar_band, reference, warped)

    reference_nodata = (
        reference.nodata if reference.nodata is not None else reference_nodata_value(reference, args.ref_band)
    )
    prepare_s = time.perf_counter() - started

    corrected = workdir / f"{args.sar.stem}_arosics_corrected.tif"
    started = time.perf_counter()
    try:
        coreg, table = coregister(args, reference, reference_nodata, warped, sar_nodata, corrected, workdir)
    except (RuntimeError, ValueError, AssertionError) as error:
        raise CoregistrationError(f"AROSICS failed on {args.reference} / {args.sar}: {error}") from error
    coreg_s = time.perf_counter() - started

    started = time.perf_counter()
    correction_error = None
    try:
        deshifted = coreg.correct_shifts()
    except Exception as error:  # AROSICS raises assorted errors when too few tie points survive
        deshifted, correction_error = None, f"{type(error).__name__}: {error}"
    correct_s = time.perf_counter() - started
    if deshifted is None and correction_error is None:
        correction_error = "no valid tie points: AROSICS did not correct the SAR"

    return {
        "tool": "arosics.COREG_LOCAL",
        "arosics_version": arosics.__version__,
        "gdal_version": gdal.__version__,
        "reference": str(args.reference),
        "sar": str(args.sar),
        "parameters": {
            "grid_res": args.grid_res,
            "window": args.window,
            "max_shift": args.max_shift,
            "cpus": args.cpus,
            "ref_band": args.ref_band,
            "sar_band": args.sar_band,
        },
        "crs": {"reference": crs_name(reference.srs), "sar": crs_name(sar.srs)},
        "pixel_size_m": list(reference.pixel_size),
        "nodata": {"reference": reference_nodata, "warped_sar": sar_nodata},
        "displacement_convention": "SAR position minus reference position of the same feature, map units, "
        "x east, y north; equals minus AROSICS's X_SHIFT_M / Y_SHIFT_M",
        **summarise_tie_points(table),
        "prepare_s": prepare_s,
        "coreg_s": coreg_s,
        "correct_s": correct_s,
        "total_s": prepare_s + coreg_s + correct_s,
        "corrected": str(corrected) if deshifted is not None and corrected.exists() else None,
        "correction_error": correction_error,
    }


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path, help="Reference GeoTIFF (optical, projected CRS).")
    parser.add_argument("sar", type=Path, help="SAR GeoTIFF (single band, may be in another CRS).")
    parser.add_argument("--out", type=Path, help="Write the JSON report here (it is printed either way).")
    parser.add_argument(
        "--workdir", type=Path, help="Folder for the warped and corrected SAR (default: temporary)."
    )
    parser.add_argument("--grid-res", type=int, default=256, help="Tie-point grid spacing in pixels (256).")
    parser.add_argument("--window", type=int, default=256, help="Matching window size in pixels (256).")
    parser.add_argument("--max-shift", type=int, default=30, help="Largest shift accepted, in pixels (30).")
    parser.add_argument("--cpus", type=int, default=2, help="Processes for the tie-point grid (2).")
    parser.add_argument("--ref-band", type=int, default=1, help="Reference band to match on, 1-based (1).")
    parser.add_argument("--sar-band", type=int, default=1, help="SAR band to match on, 1-based (1).")
    return parser.parse_args(argv)


def main(argv: Optional[list[str]] = None) -> int:
    """Run the benchmark; print the report and write it to ``--out``.

    Exit status 2 on unusable input, 1 where AROSICS fails outright; 0 otherwise, also when it finds no valid
    tie point (the report says so).
    """
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="arosics-bench-") as scratch:
        workdir = args.workdir or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        try:
            # AROSICS prints a few lines even when quiet: keep them off stdout, which carries the report.
            with warnings.catch_warnings(), contextlib.redirect_stdout(sys.stderr):
                warnings.simplefilter("ignore")
                report = run(args, workdir)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
        except CoregistrationError as error:
            print(f"error: {error}", file=sys.stderr)
            return 1
        if args.workdir is None:
            report["corrected"] = None  # written to a temporary folder that is removed on exit
    report["peak_rss_mib"] = peak_memory_mib()
    text = json.dumps(report, indent=2)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
