"""Where `sarlign eval`'s spread comes from: the same tie points refitted in other ways (prints tables).

    sarlign eval ../shared/data --workdir WORKDIR -o EVAL.json [--matcher …]
    python bench/spread_sources.py ../shared/data WORKDIR EVAL.json

For every case of every pair, the tie points that the run wrote (``registered_C.gpkg``) are fitted again:

- ``as run``: the pipeline's own fit (MSAC with the run's threshold and score weights); it must reproduce
  the run's spreads, which checks the replay;
- other robust estimators: MSAC thresholds of 3 and 8 px, a Cauchy-weighted least squares (scale 1.5 px);
- ``common support``: the run's inliers, but only those in 64 px reference-grid cells where all three of
  the pair's cases have inliers. This is not something a registration can do (it needs the other cases);
  it measures how much of the spread comes from *where* each case found tie points rather than how
  precise they were.

A refit changes a case's registered position at window centre q by ``refit(s) - fit(s)``, where
s = fit⁻¹(q + r) is the SAR-grid point the run put at q + r (r: the run's measured residual there), so the
spreads are recomputed without reading a raster again. All coordinates are reference-grid pixels
(corner-based), x then y.

The Rosenheim pair is refitted in the same ways and scored on its 164 check points; the table also gives
the median shift of the inlier tie points and of the check points (reference minus SAR position).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio

from sarlign.georef.robust import apply, fit_least_squares, msac
from sarlign.pipeline.evaluate import ROSENHEIM, ROSENHEIM_FILES

Fitter = Callable[[np.ndarray], np.ndarray]  # (N, 6) tie points → (2, 3) model
COMMON_CELL = 64


def tie_points(gpkg: Path) -> np.ndarray:
    """(N, 6): SAR-grid x, y, reference x, y, score, inlier flag of every tie point of a run's GeoPackage."""
    with sqlite3.connect(gpkg) as db:
        rows = db.execute("select sar_grid_col, sar_grid_row, ref_col, ref_row, score, inlier from tie_points")
        return np.array(rows.fetchall(), dtype=float).reshape(-1, 6)


def msac_fitter(threshold: float) -> Fitter:
    return lambda t: msac(t[:, :2], t[:, 2:4], "affine", threshold, seed=0, weights=t[:, 4]).model


def cauchy_fitter(scale: float, start: Fitter) -> Fitter:
    """Iteratively reweighted least squares with Cauchy weights 1 / (1 + (r / scale)²), from ``start``."""

    def fit(t: np.ndarray) -> np.ndarray:
        model, design = start(t), np.column_stack([t[:, :2], np.ones(len(t))])
        for _ in range(20):
            r = np.linalg.norm(apply(model, t[:, :2]) - t[:, 2:4], axis=1)
            root_w = np.sqrt(1 / (1 + (r / scale) ** 2))[:, None]
            solution, *_ = np.linalg.lstsq(design * root_w, t[:, 2:4] * root_w, rcond=None)
            model = solution.T
        return model

    return fit


def cells(points: np.ndarray) -> set[tuple[int, int]]:
    return set(map(tuple, (points // COMMON_CELL).astype(int)))


def registered_points(residual: np.ndarray, model: np.ndarray) -> np.ndarray:
    """SAR-grid points (25, 2) that a fit put at the window centres plus their residuals (25, 2)."""
    centres = np.array([(int(cx * 1024), int(cy * 1024)) for cy in np.linspace(0.15, 0.85, 5) for cx in np.linspace(0.15, 0.85, 5)], float)
    square = np.vstack([model, [0.0, 0.0, 1.0]])
    return apply(np.linalg.inv(square)[:2], centres + residual)


def pair_spreads(workdir: Path, evaluation: dict, fitters: dict[str, Fitter], threshold: float) -> dict[str, dict[str, float]]:
    """Spread (px) per fitter and pair: the largest RMS difference of two cases' refitted residual fields."""
    residuals = evaluation["residuals"]
    pairs, cases = residuals["coords"]["pair"]["data"], residuals["coords"]["case"]["data"]
    measured = np.array(residuals["data_vars"]["residual"]["data"], dtype=float)  # (pair, case, window, axis)
    run = msac_fitter(threshold)
    out: dict[str, dict[str, float]] = {name: {} for name in [*fitters, "common support"]}
    for i, pair in enumerate(pairs):
        ties = [tie_points(workdir / pair / f"registered_{case}.gpkg") for case in cases]
        inliers = [t[msac(t[:, :2], t[:, 2:4], "affine", threshold, seed=0, weights=t[:, 4]).inliers] for t in ties]
        shared = set.intersection(*(cells(t[:, 2:4]) for t in inliers))
        common = {id(t): s[[c in shared for c in map(tuple, (s[:, 2:4] // COMMON_CELL).astype(int))]] for t, s in zip(ties, inliers)}
        named: dict[str, Fitter] = {**fitters, "common support": lambda t: fit_least_squares(common[id(t)][:, :2], common[id(t)][:, 2:4], "affine")}
        for name, fitter in named.items():
            fields = []
            for j, t in enumerate(ties):
                model = run(t)
                at = registered_points(measured[i, j], model)
                fields.append(measured[i, j] + apply(fitter(t), at) - apply(model, at))
            out[name][pair] = max(
                float(np.sqrt(np.nanmean(((fields[a] - fields[b]) ** 2).sum(axis=1))))
                for a in range(len(fields)) for b in range(a + 1, len(fields))
            )
    return out


def rosenheim(data: Path, workdir: Path, fitters: dict[str, Fitter]) -> tuple[dict[str, float], np.ndarray, np.ndarray]:
    """Check-point RMSE (px) per fitter; median shifts (x, y) of the inlier tie points and the check points."""
    optical, sar, check_file = (data / ROSENHEIM / name for name in ROSENHEIM_FILES)
    with rasterio.open(optical) as ref, rasterio.open(sar) as src:
        sar_to_grid = ~ref.transform * src.transform
    points = np.loadtxt(check_file) + 0.5  # pixel indices → corner-based centres
    at = np.array([sar_to_grid * tuple(p) for p in points[:, 2:]])
    ties = tie_points(workdir / "rosenheim_registered.gpkg")
    rmse = {name: float(np.sqrt(np.mean(((apply(f(ties), at) - points[:, :2]) ** 2).sum(axis=1)))) for name, f in fitters.items()}
    inl = ties[:, 5] == 1
    return rmse, np.median(ties[inl, 2:4] - ties[inl, :2], axis=0), np.median(points[:, :2] - at, axis=0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("workdir", type=Path)
    parser.add_argument("evaluation", type=Path, help="the JSON that `sarlign eval -o` wrote for this workdir")
    args = parser.parse_args()
    evaluation = json.loads(args.evaluation.read_text())
    report = json.loads((args.workdir / "rosenheim_registered.json").read_text())
    threshold = report["options"]["gates"]["inlier_threshold_px"]
    fitters = {"as run": msac_fitter(threshold), "MSAC 3 px": msac_fitter(3.0), "MSAC 8 px": msac_fitter(8.0)}
    fitters["Cauchy 1.5 px"] = cauchy_fitter(1.5, fitters["as run"])
    spreads = pair_spreads(args.workdir, evaluation, fitters, threshold)
    pairs = list(next(iter(spreads.values())))
    print(f"matcher {evaluation['matcher']}, seed {evaluation['seed']}: spread per pair (px)")
    print(f"{'fit':<16}" + "".join(f"{p:>7}" for p in pairs) + f"{'<0.5':>7}{'<1':>6}{'max':>7}{'mean':>7}")
    for name, by_pair in spreads.items():
        v = np.array([by_pair[p] for p in pairs])
        cols = "".join(f"{x:7.2f}" for x in v)
        print(f"{name:<16}{cols}{np.mean(v < 0.5):7.0%}{np.mean(v < 1):6.0%}{v.max():7.2f}{v.mean():7.2f}")
    rmse, tie_shift, check_shift = rosenheim(args.data, args.workdir, fitters)
    print("\nRosenheim check-point RMSE (px): " + ", ".join(f"{k} {v:.2f}" for k, v in rmse.items()))
    print(f"median shift (x, y) px: inlier tie points {tie_shift[0]:+.2f}, {tie_shift[1]:+.2f}; "
          f"check points {check_shift[0]:+.2f}, {check_shift[1]:+.2f}")


if __name__ == "__main__":
    main()
