"""Richer transforms measured two ways: a known smooth field on real pixels, and Rosenheim's check points
(prints two tables).

    python bench/bench_nonrigid.py ../shared/data

1. Synthetic non-rigid distortion: the aligned SAR of Volkov pairs (real Sentinel-1 pixels) is shifted
   by (3.4, −2.2) px and bent by two Gaussian bumps of ``BUMP_PX`` px, ``BUMP_SIGMA_PX`` px wide; it and
   the unbent SAR are registered against the optical reference with each ``--transform`` and
   ``--resample``. The two resampled SARs are compared by phase correlation in 5 × 5 windows of 128² (the
   eval's measure): both carry the pair's own misalignment, so what differs between them is how far the
   transform failed to undo the known field. The same bent SAR is also registered against the aligned
   SAR itself (rows "… SAR"): one modality, an exact truth, so the window RMS against the aligned SAR is
   the transform's error alone.
2. Independent check points: the Rosenheim pair registered with each ``--transform``; its 164 check points
   taken through the output's georeferencing (the geotransform, or the GCP grid through the transformer
   the report names) against where the reference shows them. An affine fitted to the check points
   themselves leaves 0.80 px, the floor.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from scipy.ndimage import map_coordinates

from sarlign.pipeline.eval_measure import checkpoint_residuals, output_pixel_to_map, window_residuals
from sarlign.pipeline.evaluate import ROSENHEIM, ROSENHEIM_FILES

KINDS = ("affine", "polynomial2", "polynomial3", "local", "auto")
PAIRS = ("101", "253")  # the pairs with derived GeoTIFFs in the shared data
BUMP_PX, BUMP_SIGMA_PX = 5.0, 150.0
VOLKOV = "geotiff/volkov_s1s2_derived/volkov_{}_{}.tif"


def bent_copy(source: Path, destination: Path) -> None:
    """``source`` resampled so that its pixel (x, y) shows what ``source`` shows at (x, y) + d(x, y)."""
    with rasterio.open(source) as src:
        profile, image = src.profile, src.read(1).astype(np.float32)
    h, w = image.shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    first = np.exp(-((cols - 0.3 * w) ** 2 + (rows - 0.35 * h) ** 2) / (2 * BUMP_SIGMA_PX**2))
    second = np.exp(-((cols - 0.65 * w) ** 2 + (rows - 0.6 * h) ** 2) / (2 * BUMP_SIGMA_PX**2))
    dx, dy = 3.4 + BUMP_PX * (first - second), -2.2 + BUMP_PX * (second - first)
    bent = map_coordinates(image, [rows + dy, cols + dx], order=1, mode="constant", cval=np.nan)
    profile.update(dtype="float32", nodata=np.nan)
    with rasterio.open(destination, "w", **profile) as dst:
        dst.write(bent.astype(np.float32), 1)


def register(sarlign: str, reference: Path, sar: Path, out: Path, kind: str, *extra: str) -> dict:
    done = subprocess.run([sarlign, "register", str(reference), str(sar), "-o", str(out), "--transform", kind,
                           "--overwrite", "--json", "-q", *extra], capture_output=True, text=True)
    return json.loads(done.stdout)


def window_rms(resampled: Path, original: Path) -> float:
    with rasterio.open(resampled) as out, rasterio.open(original) as src:
        residuals = window_residuals(out.read(1).astype(float), src.read(1).astype(float))
    return float(np.sqrt(np.nanmean((residuals**2).sum(axis=1))))


def checkpoint_rmse(report: dict, output: Path, reference: Path, points: np.ndarray) -> float:
    """RMSE (reference px) of the check points (x_ref, y_ref, x_sar, y_sar pixel indices) under the output."""
    with rasterio.open(reference) as ref:
        residuals = checkpoint_residuals(points, ref.transform, output_pixel_to_map(output, report))
    return float(np.sqrt(np.mean((residuals**2).sum(axis=1))))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    args = parser.parse_args()
    sarlign = str(Path(sys.executable).with_name("sarlign"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        print(f"1. window RMS (px) of the resampled SAR, bumps of {BUMP_PX:g} px on real pixels")
        print(f"{'pair':<8}" + "".join(f"{k:>13}" for k in KINDS))
        for pair in PAIRS:
            reference, aligned = (args.data / VOLKOV.format(pair, side) for side in ("opt", "sar"))
            bent_copy(aligned, work / "bent.tif")
            cells = []
            for kind in KINDS:
                register(sarlign, reference, aligned, work / "plain.tif", kind, "--resample")
                register(sarlign, reference, work / "bent.tif", work / "bent_out.tif", kind, "--resample")
                cells.append(window_rms(work / "bent_out_resampled.tif", work / "plain_resampled.tif"))
            print(f"{pair:<8}" + "".join(f"{c:>13.2f}" for c in cells))
            cells = []
            for kind in KINDS:
                register(sarlign, aligned, work / "bent.tif", work / "self.tif", kind, "--resample")
                cells.append(window_rms(work / "self_resampled.tif", aligned))
            print(f"{pair + ' SAR':<8}" + "".join(f"{c:>13.2f}" for c in cells))
        optical, sar, check_file = (args.data / ROSENHEIM / name for name in ROSENHEIM_FILES)
        points = np.loadtxt(check_file)
        print("\n2. Rosenheim check-point RMSE (px; before 1.79, floor 0.80)")
        for kind in KINDS:
            report = register(sarlign, optical, sar, work / "rosenheim.tif", kind)
            print(f"{kind:<13}{checkpoint_rmse(report, work / 'rosenheim.tif', optical, points):>8.2f}  ({report['transform']})")


if __name__ == "__main__":
    main()
