"""What reading Sentinel products costs: `sarlign register` on the demo pair as plain GeoTIFFs and as
SAFE products, folder and zip (prints a table).

    python bench/bench_products.py [--runs 3]

The products are built from the bundled demo pair by the tests' own writer (``tests/safe_products.py``:
Sentinel-2 bands as JPEG 2000, as ESA delivers them; the Sentinel-1 GRD as GCP-georeferenced GeoTIFFs).
Each row is a separate ``sarlign register`` process, so start-up is included, as a user sees it.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "data" / "sample"


def products_module():
    spec = importlib.util.spec_from_file_location("safe_products", REPO / "tests" / "safe_products.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["safe_products"] = module  # its dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    sarlign = shutil.which("sarlign", path=str(Path(sys.executable).parent)) or "sarlign"
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        p = products_module().demo_products(SAMPLE / "s2_reference.tif", SAMPLE / "s1_offset.tif", work)
        bands = ["--reference-bands", "B04,B03,B02"]
        cases = {
            "GeoTIFFs (B4,B3,B2; GRD measurement)": [p.reference_tif, p.sar_tif],
            "L2A .SAFE + GRD .SAFE": [p.s2_l2a, p.s1, *bands],
            "L1C .zip + GRD .zip": [p.s2_l1c_zip, p.s1_zip, *bands],
            "L2A .SAFE + GRD .zip, --mask-clouds": [p.s2_l2a, p.s1_zip, *bands, "--mask-clouds"],
            "L2A .SAFE + GRD .zip, --calibrate sigma0": [p.s2_l2a, p.s1_zip, *bands, "--calibrate", "sigma0"],
        }
        print(f"{'inputs':<44}{'median s':>10}{'shift x, y (px)':>22}")
        for name, inputs in cases.items():
            seconds, shift = [], None
            for _ in range(args.runs):
                out = work / "out.tif"
                started = time.perf_counter()
                subprocess.run([sarlign, "register", *map(str, inputs), "-o", str(out), "--overwrite", "-q"], check=True)
                seconds.append(time.perf_counter() - started)
                shift = json.loads(out.with_suffix(".json").read_text())["correction"]["shift_px"]
            print(f"{name:<44}{statistics.median(seconds):>10.2f}{shift[0]:>11.3f},{shift[1]:>9.3f}")


if __name__ == "__main__":
    main()
