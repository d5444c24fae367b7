"""The JSON report of one registration: inputs, correction, georeferencing, quality, tiles, timings."""

from __future__ import annotations

import dataclasses
import json
import math
import platform
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

import sarlign
from sarlign.georef.gcps import gcp_transformer
from sarlign.pipeline.outcome import Outcome
from sarlign.pipeline.outputs import OutputPaths
from sarlign.pipeline.shift_field import shift_field
from sarlign.tiling.inputs import Input
from sarlign.tiling.recipe import RasterSource
from sarlign.tiling.scene import RasterInfo

REPORT_FORMAT = "sarlign-report/1"


def versions() -> dict[str, str]:
    """Versions of sarlign and the libraries that shape its results."""
    import dask
    import kornia
    import rasterio
    import torch

    return {
        "sarlign": sarlign.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "rasterio": rasterio.__version__,
        "gdal": rasterio.__gdal_version__,
        "torch": torch.__version__,
        "kornia": kornia.__version__,
        "dask": dask.__version__,
        "numpy": np.__version__,
    }


def _raster(given: Input, info: RasterInfo, source: RasterSource) -> dict[str, Any]:
    """One input as given (``path``), what GDAL read of it (``dataset``: the same, or a product's
    subdataset), what its product metadata says (``product``, empty for a plain raster), and the bands
    and no-data value in force."""
    bands = source.bands
    return {
        "path": given.location,
        "dataset": info.path,
        "product": given.product,
        "crs": info.crs.to_string(),
        "geotransform": list(info.transform.to_gdal()) if info.transform is not None else None,
        "gcps": len(info.gcps),
        "size": [info.width, info.height],
        "bands_used": list(bands),
        "dtype": info.dtypes[bands[0] - 1],
        "nodata": source.nodata,
    }


def _field(outcome: Outcome) -> dict[str, Any]:
    """The per-tile shift field (median SAR − reference shift of each tile's inliers), as plain lists."""
    plan, fit, ties = outcome.plan, outcome.fit, outcome.ties
    counts = {row["id"]: (row["tie_points"], row["inliers"]) for row in outcome.tile_rows}
    shifts = {}
    for tile in plan.tiles:
        good = (ties.tile_id == tile.tile_id) & fit.inliers
        if good.any():
            d = np.median(ties.sar_grid_xy[good] - ties.reference_xy[good], axis=0)
            shifts[tile.tile_id] = (float(d[0]), float(d[1]))
    field = shift_field(plan.tiles, plan.reference.transform, plan.reference.crs.to_wkt(), shifts, counts)
    return field.drop_attrs().to_dict(data="list")


def _field_figures(outcome: Outcome) -> dict[str, Any] | None:
    """A richer model's figures: the displacement product's summary (reference CRS units) and, for a local
    field, its covariance (reference pixels) and how well the tie points pin its trend down."""
    grid, model = outcome.displacement, outcome.fit.field
    if grid is None or model is None:
        return None
    figures: dict[str, Any] = {"grid_step_px": grid.step, "units": "reference CRS", **grid.summary()}
    if model.covariance is not None:
        figures["covariance"] = {**dataclasses.asdict(model.covariance), "kernel": "Matérn 5/2, affine trend, REML"}
        figures["trend_linear_standard_error_deg"] = math.degrees(model.inner.linear_standard_error)
    return figures


def build_report(outcome: Outcome, outputs: OutputPaths, timings: dict[str, float]) -> dict[str, Any]:
    """Everything a person or a batch needs to judge and reuse one registration (JSON-ready)."""
    plan, options, fit = outcome.plan, outcome.options, outcome.fit
    c = fit.correction
    rows = outcome.tile_rows
    statuses = [row["status"] for row in rows]
    return {
        "format": REPORT_FORMAT,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "status": "ok",
        "inputs": {
            "reference": _raster(plan.inputs[0], plan.reference, plan.reference_source),
            "sar": _raster(plan.inputs[1], plan.sar, plan.sar_source),
        },
        "options": jsonable(dataclasses.asdict(options)),
        # The settings the tiles ran with: the user's plus the thinning the search budget chose.
        "matcher": {"name": options.matcher, "options": dict(plan.matcher_options)},
        "outputs": {k: str(v) for k, v in outputs.wanted(options.resample, options.quicklook, fit.field is not None).items()},
        "transform": fit.kind,
        "transform_selection": fit.selection,
        "field": _field_figures(outcome),
        "correction": {
            "shift_m": list(c.shift_m),
            "shift_px": list(c.shift_px),
            "rotation_deg": c.rotation_deg,
            "scale": list(c.scale),
            "map_affine": list(c.matrix)[:6],
            "note": "map -> map affine in the reference CRS; shift measured at the overlap centre",
        },
        "geotransform": _georeferencing(outcome),
        "quality": dataclasses.asdict(fit.quality),
        "tiles": {
            "total": len(plan.tiles),
            "matched": statuses.count("matched"),
            "screened": statuses.count("screened"),
            "no_match": statuses.count("no_match"),
            "outside": statuses.count("outside"),
            "verifier_rejected": sum(row.get("verifier_rejected", 0) for row in rows),
            "list": rows,
        },
        "shift_field": _field(outcome),
        "structure": outcome.structure,
        "timings": {k: round(v, 3) for k, v in timings.items()},
        "versions": versions(),
    }


def gcp_rows(gcps: list) -> list[list[float]]:
    """GCPs as the report lists them: [pixel (column), line (row), x, y, z] rows."""
    return [[g.col, g.row, g.x, g.y, g.z] for g in gcps]


def _georeferencing(outcome: Outcome) -> dict[str, Any]:
    """The SAR's georeferencing before and after: its geotransform, or GCPs as [pixel (column), line (row),
    x, y, z] rows — a GCP-only SAR's own before and after, or after a richer model a grid of GCPs carrying
    it (in the reference CRS) — with the transformer GDAL must read them with (``gcp_transformer``)."""
    sar, fit = outcome.plan.sar, outcome.fit
    old = list(sar.transform.to_gdal()) if sar.transform is not None else None
    if fit.new_transform is not None:
        return {"crs": sar.crs.to_string(), "old": old, "new": list(fit.new_transform.to_gdal())}
    return {
        "crs": outcome.new_gcps_crs.to_string(),
        "old": old,
        "new": None,
        "gcps": {"old": gcp_rows(list(sar.gcps)), "new": gcp_rows(outcome.new_gcps)},
        "gcp_transformer": gcp_transformer(fit.kind)[1],
    }


def jsonable(value: Any) -> Any:
    """``value`` with tuples as lists, NumPy scalars as Python numbers and non-finite floats as None."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (np.floating, np.integer)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_report(report: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(jsonable(report), indent=2, allow_nan=False, default=str) + "\n")
