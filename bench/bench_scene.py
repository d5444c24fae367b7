"""Whole-scene registration: wall time, tiles per second, peak memory, accuracy, and the I/O floor.

    python bench/make_scene.py ../shared/data --size 2745 --out bench-scenes/2745   # and 5490, 10980
    python bench/bench_scene.py bench-scenes/2745 bench-scenes/5490 bench-scenes/10980 \
        [--matcher cfog learned-dense] [--transform affine local] [--workers 1 2] [--out bench-scene.json] \
        [--arosics bench-scenes/5490 [--arosics-window 256 512] [--arosics-python .venv-arosics/bin/python]]

Every (scene, matcher, workers) run is a fresh process, so peak memory is that run's alone: the client
process (which also hosts the local scheduler) and each worker process report their own peak resident
set size. The wall time is end to end, as ``sarlign register --workers N`` spends it: planning, starting
the local cluster, matching, fitting and writing the outputs. The I/O floor is reading both scenes once,
block by block, and writing the output COG, on one process.

With ``--arosics SCENE``, AROSICS ``COREG_LOCAL`` runs on that scene in the same benchmark, in its own
environment (``bash bench/arosics/setup.sh``), given the SAR on the reference's CRS (its warp is timed
apart), once per matching window size, and its results are set beside sarlign's.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio

from sarlign.georef.raster_out import write_regeoreferenced_cog
from sarlign.pipeline.cluster import dask_client
from sarlign.pipeline.options import RegisterOptions
from sarlign.pipeline.register import prepare, run


def peak_rss_mib() -> float:
    """This process's peak resident set size so far, MiB (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def read_all(path: Path) -> int:
    """Read every band of ``path`` block by block (its internal tiling); returns the pixels read."""
    pixels = 0
    with rasterio.open(path) as src:
        for _, window in src.block_windows(1):
            pixels += src.read(window=window).size
    return pixels


def io_floor(scene: Path, workdir: Path) -> dict:
    """Seconds to read both scenes once and write the SAR as the output COG (same options as the pipeline)."""
    started = time.perf_counter()
    read_all(scene / "reference.tif")
    read_all(scene / "sar.tif")
    read_s = time.perf_counter() - started
    with rasterio.open(scene / "sar.tif") as src:
        transform = src.transform
    started = time.perf_counter()
    write_regeoreferenced_cog(str(scene / "sar.tif"), transform, workdir / "floor.tif", "db")  # make_scene writes dB
    return {"read_s": read_s, "write_s": time.perf_counter() - started}


def one_run(scene: Path, matcher: str, workers: int, workdir: Path, transform: str = "affine") -> dict:
    """Register the scene's pair once on a new local cluster; timings, memory and the correction's error
    (at the overlap's centre: a richer model's affine part)."""
    truth = json.loads((scene / "truth.json").read_text())
    started = time.perf_counter()
    job = prepare(str(scene / "reference.tif"), str(scene / "sar.tif"), workdir / "registered.tif",
                  RegisterOptions(matcher=matcher, transform=transform), overwrite=True)
    with dask_client(workers=workers) as client:
        cluster_s = time.perf_counter() - started - job.plan_s
        report = run(job, client)
        worker_peaks = client.run(peak_rss_mib)
    wall = time.perf_counter() - started
    error = np.subtract(report["correction"]["shift_px"], truth["expected_correction_px"])
    tiles = report["tiles"]
    return {
        "scene": scene.name,
        "size": truth["size"],
        "matcher": matcher,
        "transform": report["transform"],
        "workers": workers,
        "wall_s": wall,
        "cluster_start_s": cluster_s,
        "timings": report["timings"],
        "tiles": tiles["total"] - tiles["outside"],
        "tiles_matched": tiles["matched"],
        "tiles_per_s": (tiles["total"] - tiles["outside"]) / report["timings"]["match_s"],
        "tie_points": report["quality"]["tie_points"],
        "inliers": report["quality"]["inliers"],
        "correction_px": report["correction"]["shift_px"],
        "error_px": float(np.hypot(*error)),
        "client_peak_mib": peak_rss_mib(),
        "worker_peak_mib": sorted(worker_peaks.values()),
    }


def arosics_run(python: str, scene: Path, window: int, cpus: int, workdir: Path) -> dict:
    """AROSICS ``COREG_LOCAL`` on the scene with ``window``² px matching windows
    (bench/arosics/run_coreg_local.py), and its error against the truth."""
    out = workdir / f"arosics-{window}.json"
    runner = Path(__file__).parent / "arosics" / "run_coreg_local.py"
    started = time.perf_counter()
    subprocess.run([python, str(runner), str(scene / "reference.tif"), str(scene / "sar.tif"), "--out", str(out),
                    "--window", str(window), "--cpus", str(cpus), "--workdir", str(workdir / f"arosics-{window}")],
                   check=True, capture_output=True, text=True)
    result = json.loads(out.read_text()) | {"wall_s": time.perf_counter() - started}
    truth = json.loads((scene / "truth.json").read_text())
    # Truth: the SAR shows a feature offset_px away; AROSICS reports where the SAR shows it minus the reference, in metres.
    displacement = -np.array(truth["expected_correction_m"])
    if result["displacement_m"] is not None:
        result["error_px"] = float(np.hypot(*(np.array(result["displacement_m"]) - displacement)) / 10.0)
    return result


def comparison(arosics_runs: list[dict], ours: list[dict], scene: Path) -> str:
    """sarlign and AROSICS on one scene, side by side (Markdown)."""
    # Tie points: sarlign's inliers of the global fit / the matcher's tie points; AROSICS's valid points / grid points.
    lines = ["| tool | wall (s) | tie points kept / candidates | error (px) |", "|---|---|---|---|"]
    for r in ours:
        if r["scene"] == scene.name:
            lines.append(f"| sarlign {r['matcher']}, {r['workers']} worker(s) | {r['wall_s']:.1f} | "
                         f"{r['inliers']} / {r['tie_points']} | {r['error_px']:.2f} |")
    for arosics in arosics_runs:
        error = f"{arosics['error_px']:.2f}" if "error_px" in arosics else "no correction made"
        lines.append(
            f"| AROSICS {arosics['arosics_version']} COREG_LOCAL (grid {arosics['parameters']['grid_res']} px, window "
            f"{arosics['parameters']['window']} px, {arosics['parameters']['cpus']} CPUs) | {arosics['wall_s']:.1f} "
            f"(warp {arosics['prepare_s']:.1f} + match {arosics['coreg_s']:.1f} + correct {arosics['correct_s']:.1f}) | "
            f"{arosics['tie_points_valid']} / {arosics['tie_points_total']} | {error} |"
        )
    return "\n".join(lines)


def in_fresh_process(*args: str) -> dict:
    """Run this script on one configuration in a new Python process; its JSON result."""
    done = subprocess.run([sys.executable, __file__, *args], check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def table(runs: list[dict], floors: dict[str, dict]) -> str:
    """The runs as a Markdown table."""
    lines = [
        "| scene | matcher | transform | workers | tiles | wall (s) | match (s) | fit (s) | tiles/s | s per Mpx | "
        "× I/O floor | client peak (MiB) | worker peak (MiB) | error (px) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in runs:
        floor = floors[r["scene"]]
        ratio = r["wall_s"] / (floor["read_s"] + floor["write_s"])
        lines.append(
            f"| {r['size']}² | {r['matcher']} | {r['transform']} | {r['workers']} | {r['tiles']} | {r['wall_s']:.1f} | "
            f"{r['timings']['match_s']:.1f} | {r['timings']['fit_s']:.1f} | {r['tiles_per_s']:.2f} | {r['wall_s'] / (r['size'] ** 2 / 1e6):.3f} | "
            f"{ratio:.1f} | {r['client_peak_mib']:.0f} | {max(r['worker_peak_mib']):.0f} | {r['error_px']:.2f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenes", type=Path, nargs="+", help="folders written by bench/make_scene.py")
    parser.add_argument("--matcher", nargs="+", default=["cfog"])
    parser.add_argument("--transform", nargs="+", default=["affine"])
    parser.add_argument("--workers", type=int, nargs="+", default=[2])
    parser.add_argument("--out", type=Path, help="also write every run's figures here (JSON)")
    parser.add_argument("--arosics", type=Path, metavar="SCENE", help="also run AROSICS COREG_LOCAL on this scene")
    parser.add_argument("--arosics-window", type=int, nargs="+", default=[256], help="AROSICS matching window sizes, px")
    parser.add_argument("--arosics-python", default=".venv-arosics/bin/python", help="AROSICS's environment")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # internal: a single run
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as workdir:
        if args.one:
            print(json.dumps(one_run(args.scenes[0], args.matcher[0], args.workers[0], Path(workdir), args.transform[0])))
            return
        floors = {scene.name: io_floor(scene, Path(workdir)) for scene in args.scenes}
        arosics = [
            arosics_run(args.arosics_python, args.arosics, window, max(args.workers), Path(workdir))
            for window in (args.arosics_window if args.arosics else [])
        ]
    runs = []
    for scene in args.scenes:
        for matcher in args.matcher:
            for transform in args.transform:
                for workers in args.workers:
                    runs.append(in_fresh_process(str(scene), "--matcher", matcher, "--transform", transform,
                                                 "--workers", str(workers), "--one"))
                    print(f"{scene.name} {matcher} {transform} {workers}: {runs[-1]['wall_s']:.1f} s", file=sys.stderr)
    print("I/O floor: " + ", ".join(f"{k}: read {v['read_s']:.1f} s + write {v['write_s']:.1f} s" for k, v in floors.items()))
    print(table(runs, floors))
    if arosics:
        print(comparison(arosics, runs, args.arosics))
    if args.out:
        args.out.write_text(json.dumps({"floors": floors, "runs": runs, "arosics": arosics}, indent=1) + "\n")


if __name__ == "__main__":
    main()
