"""Richer transforms measured three ways: known smooth fields on real pixels, and Rosenheim's check points
(prints three tables).

    python bench/bench_nonrigid.py ../shared/data [--fields 3] [--before "CMD"]

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
3. Random fields on every validation pair: each of the 10 Volkov validation pairs (real Sentinel-1/2,
   GeoTIFFs on their stated grid) is registered as delivered, and bent by ``--fields`` random smooth
   fields (:func:`sarlign.pipeline.known_fields.random_field`: per axis 3 Gaussian bumps of 2-5 px either
   way, 120-250 px wide (σ), centred anywhere in the inner 80 %); bent and unbent are registered with ``--resample`` and
   the two resampled SARs compared by phase correlation in 128² windows where the optical has structure
   (the screening's measure, ``FIELD_STRUCTURE``): a case's figure is the median window error, a pair's
   the median of its cases. The floor is the tie points' own: at the same template positions, the bent
   run's tie points minus the unbent run's against the known field (median per case). ``--before CMD``
   adds a column run by another ``sarlign`` (e.g. ``"env PYTHONPATH=OLD python -m sarlign"`` with an
   earlier checkout of the package in OLD).
"""

from __future__ import annotations

import argparse
import json
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from pyogrio.raw import read as read_layer
from scipy.ndimage import map_coordinates

from sarlign.pipeline.eval_measure import (
    checkpoint_residuals,
    output_pixel_to_map,
    phase_correlation,
    window_residuals,
)
from sarlign.pipeline.evaluate import ROSENHEIM, ROSENHEIM_FILES, VOLKOV
from sarlign.pipeline.known_fields import bent_copy, random_field
from sarlign.tiling.screening import ScreeningThresholds, structure
from sarlign.training.volkov import load_pairs, write_geotiffs

KINDS = ("affine", "polynomial2", "polynomial3", "local", "auto")
PAIRS = ("101", "253")  # the pairs with derived GeoTIFFs in the shared data
BUMP_PX, BUMP_SIGMA_PX = 5.0, 150.0
DERIVED = "geotiff/volkov_s1s2_derived/volkov_{}_{}.tif"
FIELD_WINDOW, FIELD_STEP = 128, 64  # px: the compared windows and their spacing
FIELD_STRUCTURE = ScreeningThresholds().min_structure  # a window's optical structure must reach this
FIELD_KINDS = ("affine", "local", "auto")


def two_bumps(shape: tuple[int, int]) -> np.ndarray:
    """(2, H, W) table 1's field: a shift of (3.4, −2.2) px and two bumps of ``BUMP_PX`` px."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    first = np.exp(-((cols - 0.3 * w) ** 2 + (rows - 0.35 * h) ** 2) / (2 * BUMP_SIGMA_PX**2))
    second = np.exp(-((cols - 0.65 * w) ** 2 + (rows - 0.6 * h) ** 2) / (2 * BUMP_SIGMA_PX**2))
    return np.stack([3.4 + BUMP_PX * (first - second), -2.2 + BUMP_PX * (second - first)])


def register(sarlign: str, reference: Path, sar: Path, out: Path, kind: str, *extra: str) -> dict:
    """The report of ``sarlign register`` (``sarlign``: a command line, split as the shell would), or
    {"status": "refused"} with its message."""
    done = subprocess.run([*shlex.split(sarlign), "register", str(reference), str(sar), "-o", str(out),
                           "--transform", kind, "--overwrite", "--json", "-q", *extra], capture_output=True, text=True)
    return json.loads(done.stdout) if done.returncode == 0 else {"status": "refused", "message": done.stderr.strip()}


def window_rms(resampled: Path, original: Path) -> float:
    with rasterio.open(resampled) as out, rasterio.open(original) as src:
        residuals = window_residuals(out.read(1).astype(float), src.read(1).astype(float))
    return float(np.sqrt(np.nanmean((residuals**2).sum(axis=1))))


def checkpoint_rmse(report: dict, output: Path, reference: Path, points: np.ndarray) -> float:
    """RMSE (reference px) of the check points (x_ref, y_ref, x_sar, y_sar pixel indices) under the output."""
    with rasterio.open(reference) as ref:
        residuals = checkpoint_residuals(points, ref.transform, output_pixel_to_map(output, report))
    return float(np.sqrt(np.mean((residuals**2).sum(axis=1))))


def structured_windows(reference: Path) -> list[tuple[int, int]]:
    """(x0, y0) of the ``FIELD_WINDOW``² windows, ``FIELD_STEP`` apart, where the optical's grey (bands
    averaged, scaled to [0, 1]) has the structure the screening asks of a tile."""
    with rasterio.open(reference) as src:
        grey = src.read().astype(np.float64).mean(axis=0) / 255.0
    h, w = grey.shape
    starts = [(x, y) for y in range(0, h - FIELD_WINDOW + 1, FIELD_STEP) for x in range(0, w - FIELD_WINDOW + 1, FIELD_STEP)]
    valid = np.ones((FIELD_WINDOW, FIELD_WINDOW), bool)
    return [(x, y) for x, y in starts if structure(grey[y : y + FIELD_WINDOW, x : x + FIELD_WINDOW], valid) >= FIELD_STRUCTURE]


def field_error(bent: Path, plain: Path, windows: list[tuple[int, int]]) -> float:
    """Median over ``windows`` of the phase-correlation shift (px) between two resampled SARs."""
    with rasterio.open(bent) as a, rasterio.open(plain) as b:
        one, other = a.read(1).astype(float), b.read(1).astype(float)
    errors = []
    for x, y in windows:
        moving, fixed = one[y : y + FIELD_WINDOW, x : x + FIELD_WINDOW], other[y : y + FIELD_WINDOW, x : x + FIELD_WINDOW]
        if np.isfinite(moving).all() and np.isfinite(fixed).all():
            errors.append(np.hypot(*phase_correlation(moving, fixed)))
    return float(np.median(errors)) if errors else float("nan")


def tie_points(gpkg: Path) -> dict[tuple[float, float], np.ndarray]:
    """Each tie point of a run's GeoPackage by its reference position (template centre): its SAR-grid
    position (x, y) px."""
    meta, _, _, fields = read_layer(gpkg, layer="tie_points")
    column = {name: values for name, values in zip(meta["fields"], fields)}
    return {(float(c), float(r)): np.array([x, y]) for c, r, x, y in
            zip(column["ref_col"], column["ref_row"], column["sar_grid_col"], column["sar_grid_row"])}


def tie_point_floor(bent_gpkg: Path, plain_gpkg: Path, field: np.ndarray) -> float:
    """Median (px) over the template positions both runs matched of |bent − unbent − (−field)|: a feature
    the unbent SAR shows at s appears in the bent one where s' + field(s') = s."""
    bent, plain = tie_points(bent_gpkg), tie_points(plain_gpkg)
    common = [key for key in bent if key in plain]
    if not common:
        return float("nan")
    moved = np.array([bent[k] for k in common])
    known = np.column_stack([map_coordinates(field[k], [moved[:, 1] - 0.5, moved[:, 0] - 0.5], order=1) for k in range(2)])
    return float(np.median(np.linalg.norm(moved + known - np.array([plain[k] for k in common]), axis=1)))


def random_fields_table(data: Path, work: Path, commands: dict[str, tuple[str, str]], fields: int) -> None:
    """Table 3 (see the module docstring); ``commands``: column → (sarlign command, --transform)."""
    print(f"\n3. random fields on the validation pairs: median window error (px) of bent vs unbent, {fields} fields a pair")
    print(f"{'pair':<8}{'floor':>10}" + "".join(f"{c:>16}" for c in commands))
    cases: dict[str, list[float]] = {c: [] for c in ("floor", *commands)}
    worst: dict[str, float] = {c: 0.0 for c in cases}
    chosen: dict[str, list[str]] = {"unbent": [], "bent": []}  # the models auto chose
    for pair in load_pairs(data / VOLKOV):
        reference, sar = write_geotiffs(pair, work)
        windows = structured_windows(reference)
        shape = rasterio.open(sar).shape
        mine: dict[str, list[float]] = {c: [] for c in cases}
        floors: dict[int, float] = {}  # per field, from the first column whose two runs were not refused
        for column, (command, kind) in commands.items():
            plain = register(command, reference, sar, work / f"plain_{column}.tif", kind, "--resample")
            if kind == "auto":
                chosen["unbent"].append(plain.get("transform", "refused"))
            for k in range(fields):
                field = random_field(shape, np.random.default_rng([int(pair.pair_id), k]))
                bent_copy(sar, work / "bent.tif", field)
                report = register(command, reference, work / "bent.tif", work / f"bent_{column}.tif", kind, "--resample")
                if kind == "auto":
                    chosen["bent"].append(report.get("transform", "refused"))
                if report["status"] == "refused" or plain["status"] == "refused":
                    mine[column].append(float("inf"))  # a refusal: the case counts as failed
                    continue
                mine[column].append(field_error(work / f"bent_{column}_resampled.tif", work / f"plain_{column}_resampled.tif", windows))
                if k not in floors:
                    floors[k] = tie_point_floor(work / f"bent_{column}.gpkg", work / f"plain_{column}.gpkg", field)
        mine["floor"] = list(floors.values())
        figures = {c: float(np.median(v)) for c, v in mine.items()}
        for c in cases:
            cases[c] += mine[c]
            worst[c] = max(worst[c], figures[c])
        print(f"{pair.pair_id:<8}{figures['floor']:>10.2f}" + "".join(f"{figures[c]:>16.2f}" for c in commands))
    widths = {c: 10 if c == "floor" else 16 for c in cases}
    print(f"{'median':<8}" + "".join(f"{np.median(cases[c]):>{widths[c]}.2f}" for c in cases))
    print(f"{'worst':<8}" + "".join(f"{worst[c]:>{widths[c]}.2f}" for c in cases))
    print(f"{'refused':<8}" + "".join(f"{np.isinf(cases[c]).sum():>{widths[c]}d}" for c in cases))
    for which, models in chosen.items():
        if models:
            counts = {m: models.count(m) for m in sorted(set(models))}
            print(f"auto chose, {which}: " + ", ".join(f"{m} {n}" for m, n in counts.items()))


def two_bumps_table(data: Path, work: Path, sarlign: str) -> None:
    """Table 1 (see the module docstring)."""
    print(f"1. window RMS (px) of the resampled SAR, bumps of {BUMP_PX:g} px on real pixels")
    print(f"{'pair':<8}" + "".join(f"{k:>13}" for k in KINDS))
    for pair in PAIRS:
        reference, aligned = (data / DERIVED.format(pair, side) for side in ("opt", "sar"))
        bent_copy(aligned, work / "bent.tif", two_bumps(rasterio.open(aligned).shape))
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


def rosenheim_table(data: Path, work: Path, sarlign: str) -> None:
    """Table 2 (see the module docstring)."""
    optical, sar, check_file = (data / ROSENHEIM / name for name in ROSENHEIM_FILES)
    points = np.loadtxt(check_file)
    print("\n2. Rosenheim check-point RMSE (px; before 1.79, floor 0.80)")
    for kind in KINDS:
        report = register(sarlign, optical, sar, work / "rosenheim.tif", kind)
        print(f"{kind:<13}{checkpoint_rmse(report, work / 'rosenheim.tif', optical, points):>8.2f}  ({report['transform']})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--fields", type=int, default=3, help="random fields per validation pair (table 3)")
    parser.add_argument("--before", help="another sarlign command line, for a 'before' column in table 3")
    parser.add_argument("--tables", type=int, nargs="+", default=[1, 2, 3], choices=[1, 2, 3])
    parser.add_argument("--kinds", nargs="+", default=list(FIELD_KINDS), help="the --transform columns of table 3")
    args = parser.parse_args()
    sarlign = str(Path(sys.executable).with_name("sarlign"))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if 1 in args.tables:
            two_bumps_table(args.data, work, sarlign)
        if 2 in args.tables:
            rosenheim_table(args.data, work, sarlign)
        if 3 in args.tables:
            commands = {kind: (sarlign, kind) for kind in args.kinds}
            if args.before:
                commands["local (before)"] = (args.before, "local")
            random_fields_table(args.data, work, commands, args.fields)


if __name__ == "__main__":
    main()
