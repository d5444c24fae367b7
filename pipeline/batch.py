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
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import rasterio
from distributed import Client

from sarlign.errors import InputError, SarlignError
from sarlign.georef.staging import remove_stale_temporaries, staged
from sarlign.pipeline.outputs import (
    OutputPaths,
    check_name,
    check_writable,
)
from sarlign.pipeline.pairs_file import BatchPair
from sarlign.pipeline.register import prepare, run
from sarlign.pipeline.report import REPORT_FORMAT, gcp_rows

log = logging.getLogger(__name__)
STATUSES = ("done", "complete", "failed", "interrupted")
TileProgress = Callable[[str, int, int], None]  # (pair name, tiles done, tiles of the pair)
SUMMARY_FIELDS = (
    "name", "status", "shift_x_px", "shift_y_px", "rmse_px", "inliers", "seconds", "error", "reference", "sar",
    "checkerboard", "residual_map", "field_map",
)
QUICKLOOKS = ("checkerboard", "residual_map", "field_map")  # OutputPaths fields the summary links to


@dataclass(frozen=True)
class PairSummary:
    """What became of one pair: status 'done' (this run), 'complete' (an earlier run), 'failed' or
    'interrupted' (the batch was stopped before the pair was done; a rerun does it)."""

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


def outputs_of(pair: BatchPair, out_dir: Path) -> OutputPaths:
    """Where a pair's outputs go: ``out_dir/NAME.tif`` and its report and tie points beside it."""
    return OutputPaths.beside(out_dir / f"{pair.name}.tif")


def completed_report(pair: BatchPair, outputs: OutputPaths) -> dict | None:
    """The pair's report when an earlier run completed it for the same inputs, with every output the pair's
    options want (a run without --quicklook made no quicklooks), every output it lists there, and the raster carrying
    the georeferencing the report gives (geotransform, or GCPs); None otherwise."""
    try:
        report = json.loads(outputs.report.read_text())
        inputs = report["inputs"]
        if report["format"] != REPORT_FORMAT or report["status"] != "ok":
            return None
        if (inputs["reference"]["path"], inputs["sar"]["path"]) != (pair.reference, pair.sar):
            return None
        if not set(outputs.wanted(pair.options.resample, pair.options.quicklook)) <= set(report["outputs"]):
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


def _summary(pair: BatchPair, outputs: OutputPaths, report: dict, status: str) -> PairSummary:
    """A pair's summary from its report."""
    shift = report["correction"]["shift_px"]
    log.info("%s: %s, shift (%+.2f, %+.2f) px, RMSE %.2f px", pair.name, status, *shift, report["quality"]["rmse_px"])
    return PairSummary(
        pair.name, status, pair.reference, pair.sar, shift[0], shift[1], report["quality"]["rmse_px"],
        report["quality"]["inliers"], report["timings"]["total_s"],
        # Outputs lie directly in the out dir, so their names are their paths relative to it.
        **{k: getattr(outputs, k).name for k in QUICKLOOKS if k in report["outputs"]},
    )


def earlier_results(pairs: list[BatchPair], out_dir: Path) -> dict[str, PairSummary]:
    """The pairs an earlier run completed (see :func:`completed_report`), as 'complete' summaries by name."""
    results = {}
    for pair in pairs:
        outputs = outputs_of(pair, out_dir)
        report = completed_report(pair, outputs)
        if report is not None:
            results[pair.name] = _summary(pair, outputs, report, "complete")
    return results


def register_one(
    pair: BatchPair, out_dir: Path, client: Client, on_tiles: TileProgress | None = None,
    stopping: threading.Event | None = None,
) -> PairSummary:
    """Register one pair with its options; a failure is recorded, not raised, and a pair cut off by the
    batch stopping (``stopping`` set) is 'interrupted', not failed. ``on_tiles(name, done, total)``
    follows its tiles."""
    outputs, started = outputs_of(pair, out_dir), time.perf_counter()
    progress = (lambda done, total: on_tiles(pair.name, done, total)) if on_tiles is not None else None
    try:
        job = prepare(pair.reference, pair.sar, outputs.raster, pair.options, overwrite=True)
        report = run(job, client, progress)
    except Exception as error:  # noqa: BLE001 — a failure of one pair must not stop the batch
        if stopping is not None and stopping.is_set():  # the cluster went away under it: not the pair's fault
            return interrupted(pair)
        message = str(error) if isinstance(error, SarlignError) else f"{type(error).__name__}: {error}"
        log.warning("%s: failed: %s", pair.name, message)
        return PairSummary(pair.name, "failed", pair.reference, pair.sar, seconds=time.perf_counter() - started, error=message)
    return _summary(pair, outputs, report, "done")


def interrupted(pair: BatchPair) -> PairSummary:
    """The summary of a pair the batch was stopped before finishing (a rerun registers it)."""
    return PairSummary(pair.name, "interrupted", pair.reference, pair.sar)


@contextmanager
def pair_threads(pairs_in_flight: int) -> Iterator[ThreadPoolExecutor]:
    """The threads that register pairs, ``pairs_in_flight`` at once. On leaving, pairs not started are
    dropped and those in flight are waited for: opened outside the client, whose closing on an interrupt
    ends their tasks, so that each in-flight pair removes its staged outputs before the process ends."""
    pool = ThreadPoolExecutor(max_workers=max(1, pairs_in_flight), thread_name_prefix="sarlign-pair")
    try:
        yield pool
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def run_batch(
    pairs: list[BatchPair],
    out_dir: Path,
    client: Client,
    pool: ThreadPoolExecutor,
    finished: dict[str, PairSummary],
    on_pair_done: Callable[[PairSummary], None] | None = None,
    on_tiles: TileProgress | None = None,
) -> list[PairSummary]:
    """Register every pair on ``client`` in ``pool``'s threads; each summary goes into ``finished`` (by
    name) as the pair ends; returns the summaries in input order.

    On an interrupt (Ctrl-C, SIGTERM) the pairs in flight are told that the batch stops, so that the
    failures the closing client causes them are recorded as 'interrupted', and the interrupt is raised
    again; :func:`summaries_after_interrupt` then says what became of each pair.
    """
    stopping = threading.Event()
    futures = [pool.submit(register_one, pair, out_dir, client, on_tiles, stopping) for pair in pairs]
    try:
        for future in as_completed(futures):
            summary = future.result()
            finished[summary.name] = summary
            if on_pair_done is not None:
                on_pair_done(summary)
    except BaseException:
        stopping.set()
        raise
    return [finished[pair.name] for pair in pairs]


def summaries_after_interrupt(pairs: list[BatchPair], out_dir: Path, finished: dict[str, PairSummary]) -> list[PairSummary]:
    """Every pair's summary once a batch was stopped: as it ended, else complete when its outputs made it
    into place, else interrupted."""
    late = earlier_results([p for p in pairs if p.name not in finished], out_dir)
    return [finished.get(p.name) or late.get(p.name) or interrupted(p) for p in pairs]


def write_summary(summaries: list[PairSummary], out_dir: Path) -> tuple[Path, Path]:
    """``batch_summary.csv`` and ``batch_summary.json`` in ``out_dir``, written all or nothing."""
    csv_path, json_path = out_dir / "batch_summary.csv", out_dir / "batch_summary.json"
    rows = [asdict(s) for s in summaries]
    with staged(csv_path, json_path) as (csv_tmp, json_tmp):
        with open(csv_tmp, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=SUMMARY_FIELDS)
            writer.writeheader()
            writer.writerows(rows)
        counts = {status: sum(s.status == status for s in summaries) for status in STATUSES}
        json_tmp.write_text(json.dumps({"pairs": rows, "counts": counts}, indent=2) + "\n")
    return csv_path, json_path
