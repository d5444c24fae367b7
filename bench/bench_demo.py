"""End-to-end time of `sarlign register` on the bundled demo pair (768² px, four tiles), as a user runs it.

    python bench/bench_demo.py [--runs 3] [--sarlign PATH ...]

Each run is a fresh `sarlign register data/sample/s2_reference.tif data/sample/s1_offset.tif` process
(imports, planning, the cluster's start, matching, fit, writing), timed from outside. With several
`--sarlign` executables (e.g. an older checkout's), their runs alternate, so that both see the same load.
Prints one row per executable: the median, min and max wall time, and the report's own start-up and
matching times (medians).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "sample"


def one_run(sarlign: str, folder: Path) -> dict[str, float]:
    """Wall time of one registration of the demo pair, with the report's timings."""
    output = folder / "demo.tif"
    command = [sarlign, "register", str(SAMPLE / "s2_reference.tif"), str(SAMPLE / "s1_offset.tif"), "-o", str(output),
               "--overwrite", "--quiet", "--json"]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{sarlign} failed ({done.returncode}): {done.stderr.strip()}")
    timings = json.loads(done.stdout)["timings"]
    return {"wall_s": wall, "cluster_start_s": timings.get("cluster_start_s", float("nan")), "match_s": timings["match_s"],
            "total_s": timings["total_s"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sarlign", nargs="+", default=[str(Path(sys.executable).with_name("sarlign"))])
    args = parser.parse_args()
    results: dict[str, list[dict[str, float]]] = {exe: [] for exe in args.sarlign}
    with tempfile.TemporaryDirectory(prefix="sarlign-bench-demo-") as tmp:
        for run in range(args.runs):
            for i, exe in enumerate(args.sarlign):
                folder = Path(tmp) / f"{i}"
                folder.mkdir(exist_ok=True)
                results[exe].append(one_run(exe, folder))
                print(f"run {run + 1}/{args.runs} {exe}: {results[exe][-1]['wall_s']:.2f} s", file=sys.stderr)
    print("| sarlign | runs | median wall (s) | min / max (s) | cluster start (s) | match (s) |")
    print("|---|---|---|---|---|---|")
    for exe, rows in results.items():
        walls = [r["wall_s"] for r in rows]

        def median(key: str) -> float:
            return statistics.median(r[key] for r in rows)

        print(f"| {exe} | {len(rows)} | {statistics.median(walls):.2f} | {min(walls):.2f} / {max(walls):.2f} | "
              f"{median('cluster_start_s'):.2f} | {median('match_s'):.2f} |")


if __name__ == "__main__":
    main()
