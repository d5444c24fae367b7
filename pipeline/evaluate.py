"""``sarlign eval``: registration quality on aligned real pairs, and absolute accuracy on check points.

For every Volkov pair, the T, A and X cases (see :mod:`sarlign.pipeline.eval_cases`) are registered to
the optical reference; the output is read back onto the reference grid and compared with the aligned
original SAR by phase correlation in 25 windows. Figures:

- precision: per pair, the spread between its three results — the largest RMS difference, over the
  windows, between the residual fields of two cases (free of any ground-truth error);
- accuracy against the dataset's alignment: per case the RMSE of the window residuals; the share of
  cases within 1, 2, 5 px; the bias, the mean signed residual over all cases.

On the Rosenheim pair, the RMSE of 164 independent check points before and after registration.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr
from distributed import Client

from sarlign.errors import FitRefusedError, InputError
from sarlign.pipeline.eval_cases import CASES, make_cases
from sarlign.pipeline.eval_measure import (
    checkpoint_residuals,
    output_pixel_to_map,
    read_on_grid,
    window_residuals,
)
from sarlign.pipeline.options import RegisterOptions
from sarlign.pipeline.outputs import OutputPaths
from sarlign.pipeline.register import register_pair
from sarlign.training.volkov import load_pairs, write_geotiffs

VOLKOV = Path("pairs/volkov_s1s2")
ROSENHEIM = Path("geotiff/cfog")
Progress = Callable[[int, int], None]


ROSENHEIM_FILES = ("cfog_rosenheim_opt.tif", "cfog_rosenheim_sar.tif", "cfog_rosenheim_cp.pts")


def check_layout(data: Path) -> None:
    """Check that ``data`` holds what ``sarlign eval`` reads, before anything runs: the Volkov pairs with
    their metadata and the Rosenheim pair with its check points.

    Raises:
        InputError: names the missing folder or file.
    """
    if not data.is_dir():
        raise InputError(str(data), "is not a folder (expected the shared data folder holding pairs/ and geotiff/)")
    volkov = data / VOLKOV
    if not (volkov / "volkov_metadata.json").is_file() or not any(volkov.glob("volkov_*_opt.png")):
        raise InputError(str(volkov), "holds no Volkov pairs (volkov_<id>_opt.png, _sar.png and volkov_metadata.json)")
    for name in ROSENHEIM_FILES:
        if not (data / ROSENHEIM / name).is_file():
            raise InputError(str(data / ROSENHEIM / name), "is missing (the Rosenheim pair and its check points)")


def evaluate_pairs(
    data: Path, workdir: Path, client: Client, options: RegisterOptions, seed: int = 0, progress: Progress | None = None
) -> xr.Dataset:
    """Register every case of every pair; residuals as a Dataset with dims (pair, case, window, axis).

    Variables: ``residual`` (px, NaN where a window had no data or the fit was refused), ``refused``
    (bool), ``model`` (the transform fitted, ``auto``'s choice; empty where refused), ``inliers`` and
    ``tie_points`` (counts), ``seconds`` (wall time of the registration).
    """
    pairs = load_pairs(data / VOLKOV)
    if not pairs:
        raise FileNotFoundError(f"no Volkov pairs under {data / VOLKOV}")
    shape = (len(pairs), len(CASES))
    residual = np.full(shape + (25, 2), np.nan)
    refused = np.zeros(shape, dtype=bool)
    model = np.full(shape, "", dtype=object)
    inliers, tie_points, seconds = np.zeros(shape, int), np.zeros(shape, int), np.full(shape, np.nan)
    total, done = len(pairs) * len(CASES), 0
    for i, pair in enumerate(pairs):
        folder = workdir / pair.pair_id
        folder.mkdir(parents=True, exist_ok=True)
        optical, sar = write_geotiffs(pair, folder)
        cases = make_cases(sar, folder, np.random.default_rng([seed, int(pair.pair_id)]))
        with rasterio.open(optical) as ref:
            grid = (ref.crs, ref.transform, ref.width, ref.height)
        original = read_on_grid(sar, *grid)
        for j, case in enumerate(CASES):
            output = folder / f"registered_{case}.tif"
            try:
                report = register_pair(str(optical), str(cases[case]["path"]), output, options, client, overwrite=True)
            except FitRefusedError:
                refused[i, j] = True
            else:
                # A richer model's output is read as resampled through the model itself (GDAL would read its
                # GCP grid with a polynomial).
                seen = OutputPaths.beside(output).resampled if options.resample else output
                residual[i, j] = window_residuals(read_on_grid(seen, *grid), original)
                model[i, j] = report["transform"]
                inliers[i, j] = report["quality"]["inliers"]
                tie_points[i, j] = report["quality"]["tie_points"]
                seconds[i, j] = report["timings"]["total_s"]
            done += 1
            if progress:
                progress(done, total)
    return xr.Dataset(
        {
            "residual": (("pair", "case", "window", "axis"), residual, {"units": "pixel"}),
            "refused": (("pair", "case"), refused),
            "model": (("pair", "case"), model),
            "inliers": (("pair", "case"), inliers),
            "tie_points": (("pair", "case"), tie_points),
            "seconds": (("pair", "case"), seconds, {"units": "s"}),
        },
        coords={"pair": [p.pair_id for p in pairs], "case": list(CASES), "axis": ["x", "y"]},
    )


def _rms(differences: np.ndarray) -> float:
    """RMS length of (window, 2) difference vectors over the windows where both cases have data."""
    lengths = (differences**2).sum(-1)
    return float(np.sqrt(lengths[np.isfinite(lengths)].mean())) if np.isfinite(lengths).any() else np.nan


def summarise(results: xr.Dataset) -> dict:
    """Precision, accuracy and bias figures from :func:`evaluate_pairs` (pixels)."""
    r = results["residual"]
    # NaN for a refused case; windows without data are left out of a case's mean.
    rmse = np.sqrt((r**2).sum("axis", skipna=False).mean("window"))
    spread = []
    for pair in results["pair"].values:
        fields = r.sel(pair=pair).values  # (case, window, axis)
        diffs = [_rms(fields[a] - fields[b]) for a, b in itertools.combinations(range(len(CASES)), 2)]
        spread.append(float(np.max(diffs)))  # NaN (counted as failing) when a case was refused
    spread_da = xr.DataArray(spread, coords={"pair": results["pair"]}, dims="pair")
    cases = rmse.values.ravel()
    finite = np.where(np.isfinite(cases), cases, np.inf)
    bias = r.mean(("pair", "case", "window")).values
    return {
        "pairs": int(results.sizes["pair"]),
        "cases": int(cases.size),
        "refused": int(results["refused"].sum()),
        "spread_px": {p: round(s, 3) for p, s in zip(results["pair"].values.tolist(), spread)},
        "share_spread_under_1px": float((spread_da < 1).mean()),
        "share_spread_under_0.5px": float((spread_da < 0.5).mean()),
        "rmse_px": {f"{p}/{c}": round(float(rmse.sel(pair=p, case=c)), 3) for p in results["pair"].values for c in CASES},
        "models": {f"{p}/{c}": str(results["model"].sel(pair=p, case=c).item()) for p in results["pair"].values
                   for c in CASES},
        "median_rmse_px": float(np.median(finite)),
        "max_rmse_px": float(np.max(finite)),
        "share_within": {f"{k}px": float(np.mean(finite <= k)) for k in (1, 2, 5, 8)},
        "bias_px": [round(float(b), 3) for b in bias],
        "bias_norm_px": float(np.hypot(*bias)),
        "inliers_per_case": float(results["inliers"].mean()),
        "inlier_ratio": float(results["inliers"].sum() / max(1, int(results["tie_points"].sum()))),
        "seconds_per_case": float(results["seconds"].mean()),
    }


def evaluate_checkpoints(data: Path, workdir: Path, client: Client, options: RegisterOptions) -> dict:
    """Check-point RMSE (reference pixels) on the Rosenheim pair before and after registration."""
    folder = data / ROSENHEIM
    optical, sar, check_points = (folder / name for name in ROSENHEIM_FILES)
    points = np.loadtxt(check_points)
    report = register_pair(str(optical), str(sar), workdir / "rosenheim_registered.tif", options, client, overwrite=True)
    with rasterio.open(optical) as ref, rasterio.open(sar) as src:
        before = checkpoint_residuals(points, ref.transform, src.transform)
        after = checkpoint_residuals(points, ref.transform, output_pixel_to_map(workdir / "rosenheim_registered.tif", report))

    def rmse(res: np.ndarray) -> float:
        return float(np.sqrt(np.mean((res**2).sum(axis=1))))

    return {
        "check_points": int(len(points)),
        "rmse_before_px": rmse(before),
        "rmse_after_px": rmse(after),
        "inliers": report["quality"]["inliers"],
        "correction_px": report["correction"]["shift_px"],
        "model": report["transform"],
    }
