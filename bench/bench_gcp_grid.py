"""How closely GDAL's thin-plate spline through a local field's GCP grid follows the field, and what the
spline costs (prints a table).

    python bench/bench_gcp_grid.py [--nodes 33 41 49]

A known field (12 Gaussian bumps of up to 5 px either way, σ = ``--width`` px, over a shift and a slight
scale) is sampled by 1500 tie points with 0.3 px of noise over a scene of each ``--size``; the local
field is fitted to them as ``--transform local`` fits it (templates of 128 px), and its GCP grid of each
``--nodes`` per side (georef.gcps.field_gcps) is read back through GDAL's thin-plate spline transformer
at 3000 random SAR pixels of the inner 90 %. Error: the distance (px) between the spline's position and
the model's; seconds: building the spline transformer and transforming the points.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from affine import Affine
from rasterio.crs import CRS
from rasterio.transform import GCPTransformer

from sarlign.coords import map_points
from sarlign.georef.gcps import field_gcps
from sarlign.georef.robust import apply
from sarlign.georef.smooth_models import fit_local

REFERENCE = Affine(10, 0, 500_000, 0, -10, 5_000_000)
SAR = REFERENCE @ Affine.translation(7, -4)
UTM = CRS.from_epsg(32633)


def known_ties(size: int, width: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """(1500, 2) SAR-grid and reference positions (px) of tie points under the known field."""
    src = rng.uniform(0, size, (1500, 2))
    field = np.zeros_like(src)
    for _ in range(12):
        centre, amplitude = rng.uniform(0, size, 2), rng.uniform(-5, 5, 2)
        field += amplitude * np.exp(-((src - centre) ** 2).sum(axis=1) / (2 * width**2))[:, None]
    dst = apply(np.array([[1.0002, 0.0, -7.0], [0.0, 0.9998, 4.0]]), src) + field + rng.normal(0, 0.3, src.shape)
    return src, dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, nargs="+", default=[1024, 10980])
    parser.add_argument("--width", type=float, nargs="+", default=[150.0, 300.0, 600.0])
    parser.add_argument("--nodes", type=int, nargs="+", default=[33, 41, 49])
    args = parser.parse_args()
    print(f"{'scene':>7}{'bump σ':>8}{'range':>8}{'nodes':>7}{'spacing':>9}{'max err':>9}{'p99 err':>9}{'seconds':>9}")
    for size in args.size:
        for width in args.width:
            model = fit_local(*known_ties(size, width, np.random.default_rng(0)), footprint_px=128.0)
            sar_pixels = np.random.default_rng(1).uniform(0.05 * size, 0.95 * size, (3000, 2))
            expected = model(map_points(~REFERENCE, map_points(SAR, sar_pixels)))
            for nodes in args.nodes:
                gcps = field_gcps(lambda p: map_points(SAR, p), UTM, (size, size), model, REFERENCE, UTM, nodes)
                started = time.perf_counter()
                with GCPTransformer(gcps, tps=True) as spline:
                    x, y = spline.xy(sar_pixels[:, 1], sar_pixels[:, 0], offset="ul")
                seconds = time.perf_counter() - started
                error = np.linalg.norm(map_points(~REFERENCE, np.column_stack([x, y])) - expected, axis=1)
                print(f"{size:>7}{width:>8.0f}{model.covariance.range_px:>8.0f}{nodes:>7}{size / (nodes - 1):>9.0f}"
                      f"{error.max():>9.3f}{np.percentile(error, 99):>9.3f}{seconds:>9.2f}")


if __name__ == "__main__":
    main()
