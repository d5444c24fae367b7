"""What one affine leaves on real pairs: each model's held-out RMSE from the reports of an eval run
(prints a table).

    sarlign eval ../shared/data --workdir WORKDIR -o EVAL.json
    python bench/structure_table.py WORKDIR

Every report carries ``structure`` (see ``sarlign.georef.residual_structure``): the inliers' held-out RMSE
(reference px, spatially blocked 5-fold) under an affine, global polynomials of order 2 and 3, and the
smooth local field, the simplest model as good as the best, and the residuals' correlated share and range.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

MODELS = ("affine", "polynomial2", "polynomial3", "local")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workdir", type=Path)
    args = parser.parse_args()
    reports = sorted(args.workdir.glob("*/registered_*.json")) + sorted(args.workdir.glob("*_registered.json"))
    print(f"{'case':<22}" + "".join(f"{m:>13}" for m in MODELS) + f"{'chosen':>13}{'corr. share':>13}{'range px':>10}")
    for path in reports:
        report = json.loads(path.read_text())
        if report.get("status") != "ok":
            continue
        structure = report["structure"]
        rmse, variogram = structure["held_out_rmse_px"], structure["variogram"]
        case = f"{path.parent.name}/{path.stem.removeprefix('registered_')}" if path.parent != args.workdir else path.stem
        extent = f"{variogram['range_px']:.0f}" if variogram["range_px"] else "-"
        print(f"{case:<22}" + "".join(f"{rmse[m]:>13.2f}" for m in MODELS)
              + f"{structure['simplest_as_good']:>13}{variogram['correlated_share']:>13.2f}{extent:>10}")


if __name__ == "__main__":
    main()
