"""The scene-pair job: plan → match tiles on Dask → robust global fit → outputs, all or nothing."""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from distributed import Client, as_completed
from rasterio.crs import CRS
from rasterio.enums import Resampling

from sarlign.coords import map_points, map_vectors
from sarlign.errors import FitRefusedError, OptionError, OutputWriteError
from sarlign.georef.calibration import write_calibrated
from sarlign.georef.displacement import write_displacement_cog
from sarlign.georef.fit import TiePoints, fit_global, residual_vectors_px, suggested_max_shift
from sarlign.georef.gcps import gcp_transformer
from sarlign.georef.overviews import SarValues, sar_values
from sarlign.georef.points_file import write_points_file
from sarlign.georef.raster_out import (
    GcpGeoreference,
    Georeference,
    resampling_grid,
    write_regeoreferenced_cog,
    write_resampled_cog,
)
from sarlign.georef.staging import remove_stale_temporaries, staged, temporary_folder_prefix
from sarlign.georef.styles import arrow_exaggeration, write_default_styles
from sarlign.georef.tiepoints import write_tie_points, write_tiles
from sarlign.models.base import Correspondences
from sarlign.pipeline.options import MAX_SHIFT_LIMIT, RegisterOptions, check_options
from sarlign.pipeline.outcome import Outcome
from sarlign.pipeline.outputs import OutputPaths, check_outputs, remove_unwanted
from sarlign.pipeline.plan import Plan, plan_pair
from sarlign.pipeline.report import build_report, jsonable, write_report
from sarlign.pipeline.stac import build_item, write_item
from sarlign.pipeline.tasks import TileResult, match_read_tiles, read_and_match_tiles, read_tile, tile_status
from sarlign.tiling.gdal_errors import GDAL_ERRORS, GDAL_VECTOR_WRITE_ERRORS, gdal_message

ProgressCallback = Callable[[int, int], None]
GPU_BATCH = 8  # tiles per matching task on a GPU worker: one descriptor batch of 8 × 624² px


def has_gpu_workers(client: Client) -> bool:
    """Whether any worker of the cluster offers the ``GPU`` resource (``dask worker --resources GPU=1``)."""
    return any(w.get("resources", {}).get("GPU") for w in client.scheduler_info()["workers"].values())


def match_tiles(
    client: Client, plan: Plan, options: RegisterOptions, progress: ProgressCallback | None = None
) -> list[TileResult]:
    """Run every recipe of the plan on the cluster; results come back in the plan's tile order.

    On a cluster with GPU workers, reading is a task of its own that any worker may run, and matching asks
    for ``GPU=1`` and takes ``GPU_BATCH`` tiles at a time, so a mixed cluster matches on its GPUs, in
    batches, and reads everywhere; otherwise one task per tile reads and matches (no pixels travel
    between workers).
    """
    info = client.scheduler_info()["workers"]
    threads = max(1, sum(w.get("nthreads", 1) for w in info.values()) // max(1, len(info)))
    settings = dict(
        matcher=options.matcher,
        matcher_options=plan.matcher_options,
        thresholds=options.screening,
        device=options.device,
        torch_threads=1 if threads == 1 else 0,
        verify=options.verify,
        pure=False,
    )
    recipes, count = plan.recipes, len(plan.recipes)
    if has_gpu_workers(client):
        reads = client.map(read_tile, recipes, pure=False)
        futures = [
            client.submit(match_read_tiles, recipes[i : i + GPU_BATCH], reads[i : i + GPU_BATCH], resources={"GPU": 1}, **settings)
            for i in range(0, count, GPU_BATCH)
        ]
    else:
        futures = client.map(read_and_match_tiles, [[recipe] for recipe in recipes], **settings)
    results: dict[str, TileResult] = {}
    for future in as_completed(futures):
        results.update((result.tile_id, result) for result in future.result())
        if progress:
            progress(len(results), count)
    return [results[recipe.tile_id] for recipe in recipes]


def collect_tie_points(results: list[TileResult]) -> TiePoints:
    """All tiles' correspondences as one set of tie points, each labelled with its tile."""
    parts = [r.matches for r in results]
    merged = Correspondences.concatenate(parts)
    tile_ids = np.concatenate([np.full(len(p), r.tile_id, dtype=object) for r, p in zip(results, parts)] or [[]])
    return TiePoints(merged.reference_xy, merged.sar_xy, merged.score, tile_ids.astype(object), merged.footprint_px)


def write_outputs(outcome: Outcome, outputs: OutputPaths, timings: dict[str, float], job_started: float) -> dict:
    """Write every output under temporary names, then rename them into place together; return the report.

    Raises:
        OutputWriteError: a file could not be written (a full disk: the message gives the space left),
            or GDAL failed while reading the SAR again to write it; nothing of this run is left in the
            folder (unless renaming the written files into place is what failed).
    """
    try:
        return _write_outputs(outcome, outputs, timings, job_started)
    except (OSError, *GDAL_ERRORS, *GDAL_VECTOR_WRITE_ERRORS) as error:
        free_mib = shutil.disk_usage(outputs.folder).free / 2**20
        problem = f"{gdal_message(error)} ({free_mib:.1f} MiB free there)"
        raise OutputWriteError(f"{outputs.folder}: writing the outputs failed: {problem}") from error


def _write_outputs(outcome: Outcome, outputs: OutputPaths, timings: dict[str, float], job_started: float) -> dict:
    plan, options, fit = outcome.plan, outcome.options, outcome.fit
    wanted = outputs.wanted(options.resample, options.quicklook, fit.field is not None)
    started = time.perf_counter()
    with staged(*wanted.values()) as temps:
        temp = dict(zip(wanted, temps))
        values = _sar_values(plan)
        with _sar_pixels(plan, options, outputs.folder) as sar_pixels:
            # A calibrated band declares its no-data (NaN); the input's is the one in force for matching.
            nodata = None if plan.sar_calibration is not None else plan.sar_source.nodata
            write_regeoreferenced_cog(sar_pixels, _new_georeference(outcome), temp["raster"], values,
                                      options.creation_options, nodata)
        if options.resample:
            grid = resampling_grid(
                plan.grid,
                CRS.from_user_input(options.target_crs) if options.target_crs else None,
                options.target_resolution,
            )
            write_resampled_cog(temp["raster"], grid, temp["resampled"], values, Resampling[options.resampling],
                                options.creation_options, gcp_transformer(outcome.fit.kind)[0])
        if options.quicklook:
            # Imported here: matplotlib costs a third of a second, and only --quicklook runs need it.
            from sarlign.pipeline.quicklook import write_quicklooks

            write_quicklooks(outcome, temp["raster"], temp["checkerboard"], temp["residual_map"], temp["field_map"])
        if outcome.displacement is not None:
            write_displacement_cog(outcome.displacement, temp["displacement"])
        _write_geopackage(outcome, temp["tie_points"])
        ref, sar = plan.reference, plan.sar
        write_points_file(temp["points"], outcome.ties, fit, ref.transform, ref.crs, sar.crs, sar.map_to_pixel)
        timings["write_s"] = time.perf_counter() - started
        timings["total_s"] = time.perf_counter() - job_started
        report = build_report(outcome, outputs, timings)
        write_report(report, temp["report"])
        # Last: the STAC Item lists the files written above.
        write_item(build_item(report, {k: p for k, p in temp.items() if p.exists()}, values), temp["stac"])
    remove_unwanted(outputs, options.resample, options.quicklook, fit.field is not None)
    return report


@contextmanager
def _sar_pixels(plan: Plan, options: RegisterOptions, folder: Path) -> Iterator[str]:
    """The SAR pixels the raster output holds: the input's, or with ``--calibrate`` its calibrated band
    (a temporary float32 GeoTIFF in ``folder``, removed afterwards)."""
    if plan.sar_calibration is None:
        yield plan.sar.path
        return
    with tempfile.TemporaryDirectory(prefix=temporary_folder_prefix("calibrate"), dir=folder) as workdir:
        calibrated = Path(workdir) / "calibrated.tif"
        polarisation = plan.inputs[1].product.get("polarization", "")
        write_calibrated(plan.sar.path, plan.sar_source.bands[0], plan.sar_calibration, calibrated,
                         f"{options.calibrate} {polarisation}".strip())
        yield str(calibrated)


def _sar_values(plan: Plan) -> SarValues:
    """What the raster outputs' pixels hold, which decides how their overviews are averaged: calibrated
    linear power with ``--calibrate``, else the SAR's values as the scaling used for matching took them
    (the same in every recipe)."""
    if plan.sar_calibration is not None:
        return "power"
    scaling = plan.sar_source.scalings[0]
    return sar_values(plan.sar.dtypes[plan.sar_source.bands[0] - 1], already_db=not scaling.log)


def _new_georeference(outcome: Outcome) -> Georeference:
    """The SAR's corrected georeferencing: its refitted geotransform, or its GCPs moved by the correction."""
    if outcome.fit.new_transform is not None:
        return outcome.fit.new_transform
    return GcpGeoreference(tuple(outcome.new_gcps), outcome.new_gcps_crs)


def _write_geopackage(outcome: Outcome, path: Path) -> None:
    plan, fit, ties = outcome.plan, outcome.fit, outcome.ties
    ref = plan.reference
    crs_wkt = ref.crs.to_wkt()
    pixel_m = fit.quality.pixel_size_m
    map_xy = map_points(ref.transform, ties.reference_xy)
    # Where the SAR showed each tie point before correction, in map coordinates of the reference CRS.
    seen_xy = map_points(ref.transform, ties.sar_grid_xy)
    residual_xy = map_vectors(ref.transform, residual_vectors_px(fit, ties))  # fit prediction − truth, map units
    write_tie_points(
        path,
        crs_wkt,
        map_xy,
        {
            "tile_id": ties.tile_id.astype(str).astype(object),
            "ref_col": ties.reference_xy[:, 0],
            "ref_row": ties.reference_xy[:, 1],
            "sar_grid_col": ties.sar_grid_xy[:, 0],
            "sar_grid_row": ties.sar_grid_xy[:, 1],
            "sar_map_x": seen_xy[:, 0],
            "sar_map_y": seen_xy[:, 1],
            "residual_px": fit.residuals_px,
            "residual_m": fit.residuals_px * pixel_m,
            "residual_dx": residual_xy[:, 0],
            "residual_dy": residual_xy[:, 1],
            "score": ties.score,
            "inlier": fit.inliers,
        },
    )
    rows = outcome.tile_rows
    write_tiles(
        path,
        crs_wkt,
        [t.polygon(ref.transform) for t in plan.tiles],
        {
            "tile_id": np.array([row["id"] for row in rows], dtype=object),
            "status": np.array([row["status"] for row in rows], dtype=object),
            "reason": np.array([row["reason"] for row in rows], dtype=object),
            "tie_points": np.array([row["tie_points"] for row in rows]),
            "inliers": np.array([row["inliers"] for row in rows]),
        },
    )
    write_default_styles(path, arrow_exaggeration(fit.residuals_px[fit.inliers], plan.overlap_px.bounds))


@dataclass(frozen=True)
class Job:
    """A checked scene pair, ready to run: its plan, options and output paths."""

    plan: Plan
    options: RegisterOptions
    outputs: OutputPaths
    plan_s: float


GEOTIFF_SUFFIXES = (".tif", ".tiff")


def prepare(reference: str, sar: str, output: Path, options: RegisterOptions, overwrite: bool = False) -> Job:
    """Check inputs and outputs and plan the tiles, before any cluster is started.

    Raises:
        InputError: bad input or output path.
    """
    started = time.perf_counter()
    check_options(options)
    outputs = OutputPaths.beside(Path(output))
    check_outputs(outputs, [reference, sar], overwrite)
    if Path(output).suffix.lower() not in GEOTIFF_SUFFIXES:  # the output is a COG, whatever its name says
        raise OptionError("--output", f"{output} must end in .tif or .tiff: the co-registered SAR is a Cloud-Optimized GeoTIFF")
    plan = plan_pair(reference, sar, options)
    remove_stale_temporaries(outputs.folder)  # what killed runs left in the output folder
    return Job(plan, options, outputs, time.perf_counter() - started)


def run(job: Job, client: Client, progress: ProgressCallback | None = None, cluster_start_s: float = 0.0) -> dict:
    """Match the job's tiles on ``client``, fit, and write the outputs; returns the report.

    ``cluster_start_s`` is the time the caller took to start ``client``'s cluster for this job (the
    report's timings show it beside the work).

    Raises:
        FitRefusedError: the correspondences do not support a trustworthy fit; no result is written, only
            its diagnosis (``NAME.failed.json``).
        InputError: an input turned out unreadable while its tiles were read.
    """
    plan, options = job.plan, job.options
    t0 = time.perf_counter() - job.plan_s - cluster_start_s  # the job's clock includes planning and start-up
    timings: dict[str, float] = {"plan_s": job.plan_s, "cluster_start_s": cluster_start_s}
    t1 = time.perf_counter()
    results = match_tiles(client, plan, options, progress)
    timings["match_s"] = time.perf_counter() - t1
    timings["tile_read_s_sum"] = sum(r.read_s for r in results)
    timings["tile_match_s_sum"] = sum(r.match_s for r in results)
    t2 = time.perf_counter()
    ties = collect_tie_points(results)
    try:
        _refuse_search_limited(results, options)
        fit = fit_global(
            ties,
            plan.overlap_px,
            plan.reference.transform,
            plan.reference.crs,
            plan.sar.transform,
            plan.sar.crs,
            options.transform,
            dataclasses.replace(options.gates, max_shift_px=options.max_shift),
            options.seed,
        )
    except FitRefusedError as refusal:
        refusal = _with_hints(refusal, plan, results, options)
        try:
            _write_diagnosis(refusal, job, results, ties)
        except OSError as error:  # a full disk: the refusal is still the outcome to report
            reason = error.strerror or str(error)
            refusal = FitRefusedError(f"{refusal} (its diagnosis could not be written: {reason})", refusal.diagnosis)
        raise refusal from None
    timings["fit_s"] = time.perf_counter() - t2
    return write_outputs(Outcome(plan, options, results, ties, fit), job.outputs, timings, t0)


def _search_limited(results: list[TileResult]) -> tuple[int, int]:
    """(tiles whose best match lay on the edge of the search, tiles that were matched at all)."""
    matched = [r for r in results if r.screening.accepted]
    return sum(r.matches.search_limited for r in matched), len(matched)


def _refuse_search_limited(results: list[TileResult], options: RegisterOptions) -> None:
    """Refuse when most matched tiles found their best match on the edge of the search: the shift then
    lies at or beyond ``--max-shift``, and what the other tiles found cannot be trusted either."""
    limited, matched = _search_limited(results)
    if matched and 2 * limited > matched:
        raise FitRefusedError(
            f"{limited} of {matched} tiles found their best match on the edge of the ±{options.max_shift} px "
            f"search: the misregistration is probably larger; rerun with --max-shift "
            f"{min(suggested_max_shift(options.max_shift), MAX_SHIFT_LIMIT)}",
            {"refusals": [f"{limited} of {matched} tiles search-limited"]},
        )


def _with_hints(refusal: FitRefusedError, plan: Plan, results: list[TileResult], options: RegisterOptions) -> FitRefusedError:
    """The refusal with what the user can change, where the tiles say it: a larger ``--max-shift`` when
    some tiles hit the edge of the search, larger inputs when the overlap is tiny."""
    hints = []
    limited, matched = _search_limited(results)
    message = str(refusal)
    if limited and "--max-shift" not in message:
        hints.append(f"{limited} of {matched} tiles found their best match on the edge of the search "
                     f"(try a larger --max-shift than {options.max_shift})")
    x0, y0, x1, y1 = plan.overlap_px.bounds
    if min(x1 - x0, y1 - y0) < options.tile_size:
        hints.append(f"the inputs overlap by only {x1 - x0:.0f} × {y1 - y0:.0f} px, which holds few tie points "
                     f"(lower --min-inliers, at {options.gates.min_inliers} now, only if you can check the result)")
    if not hints:
        return refusal
    return FitRefusedError(message + "; " + "; ".join(hints), refusal.diagnosis)


def _write_diagnosis(refusal: FitRefusedError, job: Job, results: list[TileResult], ties: TiePoints) -> None:
    """``NAME.failed.json``: why the fit was refused, with the gates, the tie points and the tiles, so a
    refusal can be inspected; nothing in it can be taken for a result (no georeferencing)."""
    outcome_tiles = [
        {"id": r.tile_id, "status": status, "reason": reason, "tie_points": len(r.matches)}
        for r in results
        for status, reason in [tile_status(r)]
    ]
    document: dict[str, Any] = {
        "format": "sarlign-refusal/1",
        "status": "refused",
        "exit_code": refusal.exit_code,
        "message": str(refusal),
        "inputs": {"reference": job.plan.inputs[0].location, "sar": job.plan.inputs[1].location},
        "options": dataclasses.asdict(job.options),
        **refusal.diagnosis,
        "tie_points": {
            "columns": ["ref_col", "ref_row", "sar_grid_col", "sar_grid_row", "score", "tile_id"],
            "rows": [[*r, *s, float(c), str(t)] for r, s, c, t in
                     zip(ties.reference_xy.tolist(), ties.sar_grid_xy.tolist(), ties.score, ties.tile_id)],
        },
        "tiles": outcome_tiles,
    }
    with staged(job.outputs.failure) as (temp,):
        temp.write_text(json.dumps(jsonable(document), indent=2, allow_nan=False, default=str) + "\n")


def register_pair(
    reference: str,
    sar: str,
    output: Path,
    options: RegisterOptions,
    client: Client,
    overwrite: bool = False,
    progress: ProgressCallback | None = None,
) -> dict:
    """Register ``sar`` to ``reference`` and write the outputs beside ``output``; returns the report.

    Raises:
        InputError: bad input or output path (nothing written).
        FitRefusedError: the correspondences do not support a trustworthy fit (nothing written).
    """
    return run(prepare(reference, sar, output, options, overwrite), client, progress)
