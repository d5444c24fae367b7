"""A batch of scene pairs on one Dask cluster: resumable, each pair's failure recorded, nothing half-written.

Each pair's outputs go to ``OUT_DIR/NAME.tif`` (and ``.json``, ``.gpkg`` beside it), written all or
nothing by :func:`sarlign.pipeline.register.run`. A rerun skips the pairs whose report says they are
complete and whose outputs match that report, and redoes the rest. Several pairs are in flight at once
(threads sharing one client), so the tiles of one pair keep workers busy while another pair fits.
"""

from __future__ import annotations

import csv
import json
import logging
import re
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import get_args

import rasterio
from distributed import Client

from sarlign.errors import InputError, OptionError, SarlignError
from sarlign.georef.fit import TransformKind
from sarlign.georef.staging import remove_stale_temporaries, staged
from sarlign.locations import display_name, resolved
from sarlign.models import registry
from sarlign.pipeline.outputs import (
    NAME_MAX_BYTES,
    STAGING_EXTRA_BYTES,
    OutputPaths,
    check_name,
    check_writable,
)
from sarlign.pipeline.plan import RegisterOptions, check_options
from sarlign.pipeline.register import prepare, run
from sarlign.pipeline.report import REPORT_FORMAT, gcp_rows
from sarlign.tiling.inputs import band_selectors
from sarlign.tiling.scaling import SarScale

REQUIRED_COLUMNS = ("reference", "sar")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(f"must be one of {', '.join(allowed)}")
        return text

    return parse


def _matcher(text: str) -> str:
    return _choice(*registry.available())(text)  # the registry is read when a pairs file is, not at import


# Per-pair columns that override the batch's options (an empty cell keeps the batch's value).
PAIR_OPTIONS: dict[str, Callable[[str], object]] = {
    "matcher": _matcher,
    "transform": _choice(*get_args(TransformKind)),
    "reference_bands": band_selectors,
    "sar_band": str.strip,
    "sar_scale": _choice(*get_args(SarScale)),
    "sar_nodata": float,
    "max_shift": int,
    "search_budget": lambda text: int(text) or None,
}
log = logging.getLogger(__name__)
TileProgress = Callable[[str, int, int], None]  # (pair name, tiles done, tiles of the pair)
SUMMARY_FIELDS = (
    "name", "status", "shift_x_px", "shift_y_px", "rmse_px", "inliers", "seconds", "error", "reference", "sar",
    "checkerboard", "residual_map", "field_map",
)
QUICKLOOKS = ("checkerboard", "residual_map", "field_map")  # OutputPaths fields the summary links to


# Names of the batch's own files in the out dir (batch_summary.csv/.json, batch.log): no pair may take them.
RESERVED_NAMES = frozenset({"batch_summary", "batch"})
_NAME_START = re.compile(r"^[^\W_]", re.UNICODE)  # a letter or digit
_UNSAFE_IN_NAME = re.compile(r"[/\\]|[^\w .,+@=~()\[\]-]", re.UNICODE)


@dataclass(frozen=True)
class BatchPair:
    """One row of the pairs file: a reference and a SAR raster (anything GDAL opens) and a stable name."""

    name: str
    reference: str
    sar: str
    options: dict[str, object] = field(default_factory=dict)  # per-pair RegisterOptions fields
    line: int = 0  # where the pair is in the pairs file, for messages


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a pair's outputs (``OUT_DIR/NAME.tif`` …), or None: a pair's outputs must
    stay in the out dir and not take the batch's own files, so a name is a plain file name (letters,
    digits, spaces and ``.,+@=~()[]-_``, starting with a letter or digit, no path separators) and not one
    of :data:`RESERVED_NAMES`."""
    if not name:
        return "is empty"
    if not _NAME_START.match(name) or _UNSAFE_IN_NAME.search(name) or name.endswith((".", " ")):
        return ("must be a plain file name: letters, digits, spaces and .,+@=~()[]-_, starting with a letter "
                "or digit, no '/' or '\\'")
    if name.lower() in RESERVED_NAMES:
        return f"is reserved for the batch's own files ({', '.join(sorted(RESERVED_NAMES))})"
    if len(name.encode()) > NAME_MAX_BYTES - STAGING_EXTRA_BYTES - len("_checkerboard.png"):
        return "is too long for a file name"
    return None


def name_from_location(location: str) -> str:
    """A pair name from its SAR's location (file or URL), made a plain file name: the last part without
    its extension, characters a name may not hold replaced by ``_``."""
    stem = display_name(location).split("?", 1)[0].rsplit(".", 1)[0]
    name = _UNSAFE_IN_NAME.sub("_", stem).strip(" .")
    return name if _NAME_START.match(name) else f"pair_{name}"


@dataclass(frozen=True)
class PairSummary:
    """What became of one pair: status 'done' (this run), 'complete' (an earlier run) or 'failed'."""

    name: str
    status: str
    reference: str
    sar: str
    shift_x_px: float | None = None
    shift_y_px: float | None = None
    rmse_px: float | None = None
    inliers: int | None = None
    seconds: float | None = None
    error: str = ""
    checkerboard: str = ""  # the quicklooks (--quicklook), relative to the out dir; empty when not written
    residual_map: str = ""
    field_map: str = ""


def read_pairs(path: Path) -> list[BatchPair]:
    """The pairs of a CSV file with a header row: ``reference``, ``sar``, optionally ``name`` (else the
    SAR file's stem) and any of :data:`PAIR_OPTIONS`. Relative local paths are taken relative to the CSV file.

    Raises:
        InputError: unreadable file, missing or unknown columns, empty or bad cells, or duplicate names.
    """
    try:
        # utf-8-sig: Excel writes CSV as UTF-8 with a byte-order mark, which would stick to the first column.
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
            columns = set(rows[0].keys()) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(str(path), f"cannot be read as CSV ({error})") from error
    if not rows:
        raise InputError(str(path), "has no pairs (a header row with 'reference' and 'sar', then one row per pair)")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(str(path), f"lacks the column(s) {', '.join(missing)}")
    unknown = sorted(columns - {*REQUIRED_COLUMNS, "name", *PAIR_OPTIONS})
    if unknown:
        expected = ", ".join([*REQUIRED_COLUMNS, "name", *PAIR_OPTIONS])
        raise InputError(str(path), f"has unknown column(s) {', '.join(unknown)} (expected {expected})")
    pairs = []
    for line, row in enumerate(rows, start=2):
        if not row["reference"] or not row["sar"]:
            raise InputError(str(path), f"line {line}: 'reference' and 'sar' must both be given")
        reference, sar = (resolved(row[c].strip(), path.parent) for c in REQUIRED_COLUMNS)
        given = (row.get("name") or "").strip()
        name = given or name_from_location(sar)
        problem = name_problem(name)
        if problem:
            raise InputError(str(path), f"line {line}: pair name {name!r} {problem}")
        pairs.append(BatchPair(name, reference, sar, _pair_options(path, line, row), line))
    names = [p.name for p in pairs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(str(path), f"pair names must be unique; repeated: {', '.join(duplicates)}")
    return pairs


def _pair_options(path: Path, line: int, row: dict[str, str]) -> dict[str, object]:
    """The row's non-empty option cells, parsed."""
    options = {}
    for column, parse in PAIR_OPTIONS.items():
        text = (row.get(column) or "").strip()
        if text:
            try:
                options[column] = parse(text)
            except ValueError as error:
                raise InputError(str(path), f"line {line}: {column} {text!r}: {error}") from error
    return options


def prepare_out_dir(out_dir: Path) -> None:
    """Create the batch's out dir if missing and check it can be written, before the cluster starts;
    remove what killed runs left in it.

    Raises:
        InputError: the out dir is a file, cannot be created or written, or its path is one GDAL misreads.
    """
    check_name(out_dir / "batch_summary.json")
    if out_dir.exists() and not out_dir.is_dir():
        raise InputError(str(out_dir), "is not a folder (--out-dir)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise InputError(str(out_dir), f"the out dir cannot be created ({error.strerror or error})") from None
    check_writable(out_dir)
    remove_stale_temporaries(out_dir)


def check_pair_options(pairs: list[BatchPair], options: RegisterOptions, path: Path) -> None:
    """Check each pair's options (the batch's with the pair's own on top) before the cluster starts.

    Raises:
        InputError: names the pairs file, the line and the option.
    """
    for pair in pairs:
        try:
            check_options(replace(options, **pair.options))
        except OptionError as error:
            column = error.option.lstrip("-").replace("-", "_")
            raise InputError(str(path), f"line {pair.line}: {column}: {error.problem}") from None


def outputs_of(pair: BatchPair, out_dir: Path) -> OutputPaths:
    """Where a pair's outputs go: ``out_dir/NAME.tif`` and its report and tie points beside it."""
    return OutputPaths.beside(out_dir / f"{pair.name}.tif")


def completed_report(pair: BatchPair, outputs: OutputPaths, options: RegisterOptions) -> dict | None:
    """The pair's report when an earlier run completed it for the same inputs, with every output ``options``
    want (a run without --quicklook made no quicklooks), every output it lists there, and the raster carrying
    the georeferencing the report gives (geotransform, or GCPs); None otherwise."""
    try:
        report = json.loads(outputs.report.read_text())
        inputs = report["inputs"]
        if report["format"] != REPORT_FORMAT or report["status"] != "ok":
            return None
        if (inputs["reference"]["path"], inputs["sar"]["path"]) != (pair.reference, pair.sar):
            return None
        if not set(outputs.wanted(options.resample, options.quicklook)) <= set(report["outputs"]):
            return None
        if not all(Path(p).is_file() for p in report["outputs"].values()):
            return None
        with rasterio.open(outputs.raster) as src:
            georeferencing = report["geotransform"]
            if georeferencing["new"] is None:
                return report if gcp_rows(src.gcps[0]) == georeferencing["gcps"]["new"] else None
            return report if list(src.transform.to_gdal()) == georeferencing["new"] else None
    except (OSError, ValueError, KeyError, TypeError, rasterio.errors.RasterioError):
        return None


def register_one(
    pair: BatchPair, out_dir: Path, options: RegisterOptions, client: Client, on_tiles: TileProgress | None = None
) -> PairSummary:
    """Register one pair (the batch's options with the pair's own on top) unless an earlier run completed
    it; a failure is recorded, not raised. ``on_tiles(name, done, total)`` follows its tiles."""
    outputs, pair_options = outputs_of(pair, out_dir), replace(options, **pair.options)
    report, status, started = completed_report(pair, outputs, pair_options), "complete", time.perf_counter()
    progress = (lambda done, total: on_tiles(pair.name, done, total)) if on_tiles is not None else None
    try:
        if report is None:
            job = prepare(pair.reference, pair.sar, outputs.raster, pair_options, overwrite=True)
            report, status = run(job, client, progress), "done"
    except Exception as error:  # noqa: BLE001 — a failure of one pair must not stop the batch
        message = str(error) if isinstance(error, SarlignError) else f"{type(error).__name__}: {error}"
        log.warning("%s: failed: %s", pair.name, message)
        return PairSummary(pair.name, "failed", pair.reference, pair.sar, seconds=time.perf_counter() - started, error=message)
    shift = report["correction"]["shift_px"]
    log.info("%s: %s, shift (%+.2f, %+.2f) px, RMSE %.2f px", pair.name, status, *shift, report["quality"]["rmse_px"])
    return PairSummary(
        pair.name, status, pair.reference, pair.sar, shift[0], shift[1], report["quality"]["rmse_px"],
        report["quality"]["inliers"], report["timings"]["total_s"],
        # Outputs lie directly in the out dir, so their names are their paths relative to it.
        **{k: getattr(outputs, k).name for k in QUICKLOOKS if k in report["outputs"]},
    )


def run_batch(
    pairs: list[BatchPair],
    out_dir: Path,
    options: RegisterOptions,
    client: Client,
    pairs_in_flight: int = 2,
    on_pair_done: Callable[[PairSummary], None] | None = None,
    on_tiles: TileProgress | None = None,
) -> list[PairSummary]:
    """Register every pair on ``client``, at most ``pairs_in_flight`` at once; summaries in input order.

    On an interrupt (Ctrl-C, a job's time limit) pairs not yet started are dropped and the interrupt is
    raised again; pairs in flight leave no outputs (they are written all or nothing), so a rerun resumes.
    """
    pool = ThreadPoolExecutor(max_workers=max(1, pairs_in_flight), thread_name_prefix="sarlign-pair")
    try:
        futures = [pool.submit(register_one, pair, out_dir, options, client, on_tiles) for pair in pairs]
        for future in as_completed(futures):
            if on_pair_done is not None:
                on_pair_done(future.result())
        return [future.result() for future in futures]
    finally:
        pool.shutdown(wait=False, cancel_futures=True)


def write_summary(summaries: list[PairSummary], out_dir: Path) -> tuple[Path, Path]:
    """``batch_summary.csv`` and ``batch_summary.json`` in ``out_dir``, written all or nothing."""
    csv_path, json_path = out_dir / "batch_summary.csv", out_dir / "batch_summary.json"
    rows = [asdict(s) for s in summaries]
    with staged(csv_path, json_path) as (csv_tmp, json_tmp):
        with open(csv_tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        counts = {status: sum(s.status == status for s in summaries) for status in ("done", "complete", "failed")}
        json_tmp.write_text(json.dumps({"pairs": rows, "counts": counts}, indent=2) + "\n")
    return csv_path, json_path
