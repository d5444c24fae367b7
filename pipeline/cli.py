"""The ``sarlign`` command line."""

from __future__ import annotations

import dataclasses
import json
import logging
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

import sarlign
from sarlign.errors import INTERRUPTED, OptionError, SarlignError
from sarlign.locations import display_name
from sarlign.models import registry
from sarlign.pipeline.cluster import IN_PROCESS_MAX_TILES, Started, dask_client
from sarlign.pipeline.command_options import with_options
from sarlign.pipeline.options import (
    BY_NAME,
    PER_PAIR,
    RUNNING,
    RegisterOptions,
    check_options,
    register_options,
)

app = typer.Typer(
    help="Co-register Sentinel-1 SAR to Sentinel-2 optical scenes.\n\n"
    "Exit codes: 0 success; 1 unexpected failure; 2 bad input or usage; 3 fit refused as untrustworthy; 130 stopped.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True, soft_wrap=True)  # soft wrap: paths in messages stay whole in logs


def _version(value: bool) -> None:
    if value:
        typer.echo(f"sarlign {sarlign.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version and exit."),
) -> None:
    """Co-register Sentinel-1 SAR to Sentinel-2 optical scenes."""


def _fail(exit_code: int, status: str, message: str, as_json: bool) -> None:
    """Say why the command failed in one line on stderr (and as a JSON object on stdout with ``--json``)."""
    err.print(f"[bold red]error:[/] {' '.join(message.split())}", highlight=False)
    if as_json:
        typer.echo(json.dumps({"status": status, "exit_code": exit_code, "message": message}))


@contextmanager
def _failures_to_exit_codes(as_json: bool = False) -> Iterator[None]:
    """Failures as exit codes (2 bad input, 3 fit refused, 130 interrupted), each with one line of reason."""
    try:
        yield
    except SarlignError as exc:
        _fail(exc.exit_code, exc.status, str(exc), as_json)
        raise typer.Exit(exc.exit_code) from None
    except KeyboardInterrupt:
        _fail(INTERRUPTED, "interrupted", "stopped (Ctrl-C or SIGTERM); no output was written", as_json)
        raise typer.Exit(INTERRUPTED) from None


@contextmanager
def _stop_on_sigterm() -> Iterator[None]:
    """Treat SIGTERM (a scheduler's time limit, ``kill``) like Ctrl-C: stop cleanly, leaving no partial output."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _progress_bars() -> Progress:
    """Labelled bars with counts and elapsed time, on stderr."""
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err, transient=False
    )


def _progress_line(label: str, done: int, total: int) -> None:
    """One machine-readable progress line on stderr, ``PROGRESS <label> <done>/<total>`` (``--progress-lines``)."""
    print(f"PROGRESS {label} {done}/{total}", file=sys.stderr, flush=True)


@contextmanager
def _progress(label: str, quiet: bool, lines: bool = False) -> Iterator:
    if lines:
        yield lambda done, total: _progress_line(label, done, total)
        return
    if quiet:
        yield None
        return
    with _progress_bars() as bar:
        task = bar.add_task(label, total=None)
        yield lambda done, total: bar.update(task, completed=done, total=total)


def _summary(report: dict) -> Table:
    c, q = report["correction"], report["quality"]
    table = Table(title="sarlign register", show_header=False)
    options = report["options"]
    table.add_row("matcher", options["matcher"] + (" + patch verifier" if options["verify"] else ""))
    table.add_row("shift", f"{c['shift_m'][0]:+.2f} m E, {c['shift_m'][1]:+.2f} m N  ({c['shift_px'][0]:+.2f}, {c['shift_px'][1]:+.2f}) px")
    table.add_row("rotation / scale", f"{c['rotation_deg']:+.4f}°  x{c['scale'][0]:.5f}, x{c['scale'][1]:.5f}")
    rejected = f"; {report['tiles']['verifier_rejected']} rejected by the verifier" if options["verify"] else ""
    table.add_row("tie points", f"{q['inliers']} inliers of {q['tie_points']} ({q['inlier_ratio']:.0%}){rejected}")
    table.add_row("RMSE", f"{q['rmse_px']:.2f} px ({q['rmse_m']:.2f} m); held-out {q['check_rmse_px']:.2f} px")
    t = report["tiles"]
    table.add_row("tiles", f"{t['matched']} matched, {t['screened']} screened, {t['no_match']} unmatched, {t['outside']} outside")
    if report["structure"]["hint"]:
        table.add_row("structure", report["structure"]["hint"])
    table.add_row("time", f"{report['timings']['total_s']:.1f} s")
    table.add_row("outputs", "\n".join(report["outputs"].values()))
    return table


# What a few commands besides register and batch take from the declared options.
QUIET = typer.Option(False, "--quiet", "-q", help=BY_NAME["quiet"].help)
WORKERS = typer.Option(None, "--workers", help="Local cluster worker processes (default: one per core).")
DEVICE = typer.Option("auto", "--device", help=BY_NAME["device"].help)


@app.command()
@with_options()
def register(
    reference: str = typer.Argument(..., help="Reference optical raster: any location GDAL opens (a file, /vsicurl/https://…, /vsizip/…, s3://…) with a CRS, a Sentinel-2 L1C/L2A product (.SAFE folder, MTD xml or .zip, also at a URL) or a STAC Item (JSON file or URL)."),
    sar: str = typer.Argument(..., help="Moving SAR raster: any location GDAL opens, a Sentinel-1 GRD product (.SAFE folder, manifest.safe or .zip) or a STAC Item; may be in another CRS and pixel size."),
    output: Path = typer.Option(..., "-o", "--output", help="Co-registered SAR (COG). The report (.json), tie points (.gpkg) and, with --resample, OUTPUT_resampled.tif go beside it."),
    as_json: bool = typer.Option(False, "--json", help="Print the report as JSON on stdout.", rich_help_panel=RUNNING),
    *,
    values: dict,
) -> None:
    """Register a SAR scene to an optical reference: updated geotransform, tie points and a report."""
    with _failures_to_exit_codes(as_json), _stop_on_sigterm():
        report = _register(reference, sar, output, register_options(values), values)  # prepare() checks the options
    if as_json:
        typer.echo(json.dumps(report, indent=2, default=str))
    elif not values["quiet"]:
        err.print(_summary(report))


def _register(reference: str, sar: str, output: Path, options: RegisterOptions, values: dict) -> dict:
    """Check and plan the job (fail fast, before any cluster starts), then run it; returns the report.

    Unless ``--workers`` asks for worker processes, a job of few tiles runs on threads in this process
    instead of starting them (the same tasks, so the same results; see :mod:`sarlign.pipeline.cluster`).
    """
    from sarlign.pipeline.register import prepare, run

    scheduler, workers = values["scheduler"], values["workers"]
    _check_workers(workers)
    job = prepare(reference, sar, output, options, values["overwrite"])
    in_process = scheduler is None and workers is None and len(job.plan.recipes) <= IN_PROCESS_MAX_TILES
    started = Started()
    with dask_client(scheduler, workers, in_process=in_process, started=started) as client, _progress(
        "tiles", values["quiet"], values["progress_lines"]
    ) as progress:
        return run(job, client, progress, started.seconds)


def _eval_table(summary: dict, checkpoints: dict) -> Table:
    table = Table(title=f"sarlign eval — {summary['pairs']} pairs, {summary['cases']} cases")
    table.add_column("figure")
    table.add_column("value", justify="right")
    rows = [
        ("pairs with spread < 1 px", f"{summary['share_spread_under_1px']:.0%}"),
        ("pairs with spread < 0.5 px", f"{summary['share_spread_under_0.5px']:.0%}"),
        ("max spread (px)", f"{max(summary['spread_px'].values()):.2f}"),
        ("cases within 1 / 2 / 5 / 8 px", " / ".join(f"{summary['share_within'][f'{k}px']:.0%}" for k in (1, 2, 5, 8))),
        ("median / max case RMSE (px)", f"{summary['median_rmse_px']:.2f} / {summary['max_rmse_px']:.2f}"),
        ("bias x, y (px)", f"{summary['bias_px'][0]:+.2f}, {summary['bias_px'][1]:+.2f}"),
        ("refused fits", str(summary["refused"])),
        ("inliers per case / inlier ratio", f"{summary['inliers_per_case']:.0f} / {summary['inlier_ratio']:.0%}"),
        ("seconds per case", f"{summary['seconds_per_case']:.1f}"),
    ]
    if checkpoints:
        rows.append(("Rosenheim check-point RMSE before → after (px)", f"{checkpoints['rmse_before_px']:.2f} → {checkpoints['rmse_after_px']:.2f}"))
    for row in rows:
        table.add_row(*row)
    return table


@contextmanager
def _log_to(path: Path) -> Iterator[None]:
    """Append the batch's log (a line per pair, failures with their reason) to ``path`` while in the block."""
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    logger = logging.getLogger("sarlign.pipeline.batch")
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        logger.removeHandler(handler)
        handler.close()


@contextmanager
def _batch_progress(pairs: int, quiet: bool, lines: bool = False) -> Iterator[tuple[Optional[Callable], Optional[Callable]]]:
    """Pairs done and tiles matched over the pairs started, as two bars or as progress lines:
    (on_pair_done, on_tiles) callbacks."""
    if quiet and not lines:
        yield None, None
        return
    tiles: dict[str, tuple[int, int]] = {}
    finished = [0]

    def tile_totals(name: str, done: int, total: int) -> tuple[int, int]:
        tiles[name] = (done, total)
        return sum(d for d, _ in tiles.values()), sum(t for _, t in tiles.values())

    if lines:

        def pair_line(summary: object) -> None:
            finished[0] += 1
            _progress_line("pairs", finished[0], pairs)

        yield pair_line, lambda name, done, total: _progress_line("tiles", *tile_totals(name, done, total))
        return
    with _progress_bars() as bar:
        pair_task, tile_task = bar.add_task("pairs", total=pairs), bar.add_task("tiles", total=None)

        def on_tiles(name: str, done: int, total: int) -> None:
            done_all, total_all = tile_totals(name, done, total)
            bar.update(tile_task, completed=done_all, total=total_all)

        yield (lambda summary: bar.advance(pair_task)), on_tiles


@contextmanager
def _resumable_on_interrupt() -> Iterator[None]:
    """On Ctrl-C or SIGTERM, say how to resume and exit with status 130 (no traceback)."""
    try:
        yield
    except KeyboardInterrupt:
        err.print("[bold yellow]stopped:[/] pairs finished so far are kept; run the same command again to resume")
        raise typer.Exit(INTERRUPTED) from None


@app.command()
@with_options()
def batch(
    pairs: Path = typer.Argument(..., help="CSV file with a header row: reference, sar, optionally name (else the SAR file's stem), and any option below with underscores (max_rotation, reference_bands, …) to set it for one pair; an empty cell keeps the batch's value."),
    out_dir: Path = typer.Option(..., "--out-dir", help="Folder for each pair's NAME.tif, NAME.json, NAME.gpkg and the batch summary (created if missing)."),
    pairs_in_flight: int = typer.Option(2, "--pairs-in-flight", help="Pairs registered at once on the cluster (bounds the client's memory).", rich_help_panel=RUNNING),
    cluster: str = typer.Option("local", "--cluster", help="local (a LocalCluster, or --scheduler), slurm or pbs (dask-jobqueue, with --cluster-config).", rich_help_panel=RUNNING),
    cluster_config: Optional[Path] = typer.Option(None, "--cluster-config", help="YAML of dask-jobqueue settings plus `jobs` and `start_timeout` (see workflows/).", rich_help_panel=RUNNING),
    *,
    values: dict,
) -> None:
    """Register many scene pairs; a rerun skips the pairs already complete and redoes the rest."""
    from sarlign.pipeline.jobqueue import check_cluster_options
    from sarlign.pipeline.pairs_file import read_pairs

    with _failures_to_exit_codes(), _resumable_on_interrupt():
        check_cluster_options(cluster, cluster_config, values["scheduler"], values["workers"])
        _check_workers(values["workers"])
        if pairs_in_flight < 1:
            raise OptionError("--pairs-in-flight", f"must be at least 1, got {pairs_in_flight}")
        check_options(register_options(values))
        entries = read_pairs(pairs, {name: values[name] for name in PER_PAIR})
        summaries = _run_batch(entries, out_dir, pairs_in_flight, cluster, cluster_config, values)
    _batch_table(summaries, out_dir, values["quiet"])
    if any(s.status == "failed" for s in summaries):
        raise typer.Exit(1)


def _run_batch(entries: list, out_dir: Path, pairs_in_flight: int, cluster: str, cluster_config: Optional[Path],
               values: dict) -> list:
    """Register the pairs not complete yet on a cluster started for them (none when every pair is complete);
    the summary is written however the batch ends, an interrupt included."""
    from sarlign.pipeline.batch import (
        earlier_results,
        pair_threads,
        prepare_out_dir,
        run_batch,
        summaries_after_interrupt,
        write_summary,
    )
    from sarlign.pipeline.jobqueue import jobqueue_client

    prepare_out_dir(out_dir)
    finished = {} if values["overwrite"] else earlier_results(entries, out_dir)
    pending = [pair for pair in entries if pair.name not in finished]
    quiet, lines = values["quiet"], values["progress_lines"]
    with _log_to(out_dir / "batch.log"), _stop_on_sigterm():
        try:
            if pending:
                connect = (jobqueue_client(cluster, cluster_config, say=err.print) if cluster != "local"
                           else dask_client(values["scheduler"], values["workers"]))
                with pair_threads(pairs_in_flight) as pool, connect as client, _batch_progress(len(entries), quiet, lines) as (
                    pair_done, tiles
                ):
                    for summary in finished.values():
                        if pair_done is not None:
                            pair_done(summary)
                    if not quiet and not lines:
                        err.print(f"Dask dashboard: {client.dashboard_link}", highlight=False)
                    run_batch(pending, out_dir, client, pool, finished, pair_done, tiles)
        except BaseException:
            write_summary(summaries_after_interrupt(entries, out_dir, finished), out_dir)
            raise
    summaries = [finished[pair.name] for pair in entries]
    write_summary(summaries, out_dir)
    return summaries


def _batch_table(summaries: list, out_dir: Path, quiet: bool) -> None:
    """The batch's summary table on stderr."""
    if quiet:
        return
    failed = sum(s.status == "failed" for s in summaries)
    table = Table(title=f"sarlign batch: {len(summaries)} pairs, {failed} failed ({out_dir / 'batch_summary.csv'})")
    for column in ("pair", "status", "shift (px)", "RMSE (px)", "error"):
        table.add_column(column)
    for s in summaries:
        shift = f"{s.shift_x_px:+.2f}, {s.shift_y_px:+.2f}" if s.shift_x_px is not None else ""
        table.add_row(s.name, s.status, shift, f"{s.rmse_px:.2f}" if s.rmse_px is not None else "", s.error)
    err.print(table)


def _check_workers(workers: Optional[int]) -> None:
    if workers is not None and workers < 1:
        raise OptionError("--workers", f"must be at least 1, got {workers}")


@app.command()
def pairs(
    references: str = typer.Argument(..., help="Folder of reference scenes (Sentinel-2 products, GeoTIFFs, STAC Item files) or a STAC ItemCollection (file or URL)."),
    sars: str = typer.Argument(..., help="Folder of SAR scenes (Sentinel-1 products, GeoTIFFs, STAC Item files) or a STAC ItemCollection (file or URL)."),
    output: Path = typer.Option(..., "-o", "--output", help="The pairs CSV to write (reference, sar, name), as `sarlign batch` reads it."),
    max_days: float = typer.Option(30.0, "--max-days", help="Pair only scenes acquired at most this many days apart (when both times are known)."),
    min_overlap: float = typer.Option(0.1, "--min-overlap", help="Pair only a reference that covers at least this share (0-1) of the SAR footprint."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing pairs file."),
    quiet: bool = QUIET,
) -> None:
    """Pair each SAR scene with the reference covering most of it, closest in time: a pairs file for `batch`."""
    from sarlign.pipeline.outputs import check_output_file
    from sarlign.pipeline.pairing import pair, scenes, write_pairs_csv

    with _failures_to_exit_codes():
        if max_days < 0:
            raise OptionError("--max-days", f"must be ≥ 0, got {max_days:g}")
        if not 0 <= min_overlap <= 1:
            raise OptionError("--min-overlap", f"must be 0 to 1, got {min_overlap:g}")
        check_output_file(output, overwrite)
        pairings = pair(scenes(references, "reference"), scenes(sars, "SAR"), max_days, min_overlap)
        write_pairs_csv(pairings, output)
    if not quiet:
        table = Table(title=f"sarlign pairs: {sum(p.reference is not None for p in pairings)} of {len(pairings)} SAR scenes paired ({output})")
        for column in ("SAR", "reference", "overlap", "days apart"):
            table.add_column(column)
        for p in pairings:
            days = "" if p.days_apart is None else f"{p.days_apart:.1f}"
            table.add_row(display_name(p.sar.location), display_name(p.reference.location) if p.reference else "— none —",
                          f"{p.overlap:.0%}" if p.reference else "", days)
        err.print(table)


@app.command("eval")
@with_options(tuple(BY_NAME[name] for name in ("matcher", "matcher_option", "verify", "transform", "scheduler", "workers", "quiet")))
def evaluate(
    data: Path = typer.Argument(..., help="Folder holding pairs/volkov_s1s2 (aligned pairs) and geotiff/cfog (Rosenheim check points)."),
    output: Optional[Path] = typer.Option(None, "--output", "-o", help="Write the figures and every case's residuals as JSON here."),
    workdir: Optional[Path] = typer.Option(None, "--workdir", help="Keep the generated cases and outputs here (default: a temporary folder)."),
    seed: int = typer.Option(0, "--seed", help="Seed of the random misregistrations."),
    *,
    values: dict,
) -> None:
    """Measure registration precision and accuracy on real aligned pairs (T, A and X cases per pair)."""
    import tempfile

    from sarlign.pipeline.evaluate import (
        check_layout,
        evaluate_checkpoints,
        evaluate_pairs,
        summarise,
    )
    from sarlign.training.volkov import VOLKOV_GATES

    with _failures_to_exit_codes():
        options = dataclasses.replace(
            register_options(values), max_shift=80,
            gates=VOLKOV_GATES,  # the Volkov pairs' own distortion and the A cases' warps
            resample=values["transform"] not in ("affine", "translation"),  # a richer model's output is read resampled
        )
        check_options(options)
        check_layout(data)
    with tempfile.TemporaryDirectory(prefix="sarlign-eval-") as tmp, _failures_to_exit_codes():
        folder = workdir or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        with dask_client(values["scheduler"], values["workers"]) as client:
            with _progress("cases", values["quiet"]) as progress:
                results = evaluate_pairs(data, folder, client, options, seed, progress)
            checkpoints = evaluate_checkpoints(data, folder, client, options)
    summary = summarise(results)
    if output:
        payload = {**{name: values[name] for name in ("matcher", "verify", "transform")}, "seed": seed, "summary": summary,
                   "rosenheim": checkpoints,
                   "residuals": results.to_dict(data="list")}
        output.write_text(json.dumps(payload, indent=2, default=str) + "\n")
    if not values["quiet"]:
        err.print(_eval_table(summary, checkpoints))


train_app = typer.Typer(help="Prepare training data and train the learned matchers.", no_args_is_help=True)
app.add_typer(train_app, name="train")


@train_app.command("align")
def train_align(
    pairs: Path = typer.Argument(..., help="Folder of Volkov training pairs (volkov_<id>_opt.png / _sar.png)."),
    output: Path = typer.Option(..., "-o", "--output", help="Alignments JSON to write."),
    workers: Optional[int] = WORKERS,
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No summary."),
) -> None:
    """Refine each training pair's stated alignment with the classical matcher (affine fit)."""
    import tempfile

    from sarlign.training.alignment import refine_alignments
    from sarlign.training.volkov import VOLKOV_GATES

    with tempfile.TemporaryDirectory(prefix="sarlign-align-") as tmp, dask_client(None, workers) as client:
        document = refine_alignments(pairs, Path(tmp), client, RegisterOptions(gates=VOLKOV_GATES))
    output.write_text(json.dumps(document, indent=2) + "\n")
    if not quiet:
        ok = [e for e in document["pairs"].values() if e["status"] == "ok"]
        err.print(f"{len(ok)} of {len(document['pairs'])} pairs aligned; written to {output}")


TRAINABLE = {"learned-cfog": "learned-cfog", "dense": "learned-dense", "keypoint": "learned-keypoint", "verifier": "patch-verifier"}


def _train_command(objective: str) -> Callable[..., None]:
    """The ``sarlign train`` subcommand training ``objective`` (see :mod:`sarlign.training.objectives`)."""

    def command(
        data: Path = typer.Argument(..., help="Folder holding train/volkov_s1s2 (training) and pairs/volkov_s1s2 (validation)."),
        config: Path = typer.Option(..., "--config", help="Training configuration (JSON), e.g. training/configs/learned_dense.json."),
        alignments: Optional[Path] = typer.Option(None, "--alignments", help="Refined alignments from `sarlign train align` (default: the stated alignment)."),
        run_dir: Path = typer.Option(Path(f"runs/{objective}"), "--run-dir", help="Checkpoints and log; a rerun resumes from here."),
        export: Optional[Path] = typer.Option(None, "--export", help="Write the trained weights here (with a .json metadata file)."),
        seed: Optional[int] = typer.Option(None, "--seed", help="Seed of the run instead of the configuration's (runs of one setting with several seeds)."),
        device: str = DEVICE,
    ) -> None:
        from sarlign.pipeline.tasks import resolve_device
        from sarlign.training.data import load_training_pairs
        from sarlign.training.train import TrainConfig, export_weights, train

        settings = dataclasses.replace(TrainConfig.from_file(config), objective=objective)
        if seed is not None:
            settings = dataclasses.replace(settings, seed=seed)
        refined = json.loads(alignments.read_text()) if alignments else None
        train_pairs = load_training_pairs(data / "train" / "volkov_s1s2", refined)
        val_pairs = load_training_pairs(data / "pairs" / "volkov_s1s2")
        err.print(f"training {objective} on {len(train_pairs)} pairs, validating on {len(val_pairs)}")
        metrics = train(settings, train_pairs, val_pairs, run_dir, resolve_device(device), log=err.print)
        err.print(f"validation: {metrics}")
        if export:
            data_note = {
                "training_data": f"{len(train_pairs)} Volkov Sentinel-1/2 pairs (train/volkov_s1s2), "
                + (f"alignment refined ({alignments.name})" if alignments else "stated alignment"),
                "validation_data": f"{len(val_pairs)} Volkov pairs (pairs/volkov_s1s2), stated alignment",
                "validation": metrics,
            }
            export_weights(run_dir, export, settings, data_note)
            err.print(f"weights written to {export}")

    command.__doc__ = f"Train the {objective} model on real Sentinel-1/2 pairs."
    return command


for _name, _objective in TRAINABLE.items():
    train_app.command(_name)(_train_command(_objective))


@app.command()
def matchers() -> None:
    """List the available matchers."""
    for name, summary in registry.available().items():
        typer.echo(f"{name}\t{summary}")


def run_command_line(arguments: list[str]) -> int:
    """Run ``sarlign ARGUMENTS`` and return its exit code; usage errors (an unknown option, a value of the
    wrong type, a missing argument) are one line on stderr, exit code 2, as a JSON object with ``--json``."""
    try:
        code = app(args=arguments, prog_name="sarlign", standalone_mode=False)
    except typer.TyperException as usage:  # typer's usage errors (its own copy of click's)
        exit_code = getattr(usage, "exit_code", 2)
        message = usage.format_message() if hasattr(usage, "format_message") else str(usage)
        if not message.strip():  # no arguments at all: typer has printed the help
            return exit_code
        context = getattr(usage, "ctx", None)
        where = f" (see: {context.command_path} --help)" if context is not None else ""
        _fail(exit_code, "bad_input", message + where, "--json" in arguments)
        return exit_code
    except (typer.Abort, KeyboardInterrupt):
        _fail(INTERRUPTED, "interrupted", "stopped (Ctrl-C or SIGTERM)", "--json" in arguments)
        return INTERRUPTED
    return code if isinstance(code, int) else 0

