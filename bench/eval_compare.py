"""Several ``sarlign eval`` runs side by side, pair by pair: each pair's spread, and the model each case
was registered with where it was not the affine (``--transform auto``'s choices). Prints a table.

    sarlign eval ../shared/data --transform affine -o affine.json
    sarlign eval ../shared/data --transform local -o local.json
    sarlign eval ../shared/data --transform auto -o auto.json
    python bench/eval_compare.py affine.json local.json auto.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

SHORT = {"affine": "A", "translation": "T", "polynomial2": "P2", "polynomial3": "P3", "local": "L", "": "-"}


def _models(summary: dict, pair: str) -> str:
    """The models of ``pair``'s cases, e.g. ``L P2 L``; empty where every case is affine."""
    models = [model for key, model in summary.get("models", {}).items() if key.split("/")[0] == pair]
    return " ".join(SHORT.get(m, m) for m in models) if set(models) != {"affine"} else ""


def _rosenheim_model(run: dict) -> str:
    """The Rosenheim registration's model where it is not the affine (older eval files do not say)."""
    model = run["rosenheim"].get("model", "affine")
    return f"({model})" if model != "affine" else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("evals", type=Path, nargs="+", help="JSON files written by sarlign eval -o")
    runs = [json.loads(path.read_text()) for path in parser.parse_args().evals]
    labels = [run["transform"] for run in runs]
    print(f"{'pair':<20}" + "".join(f"{label:>14}{'models':>12}" for label in labels))
    for pair in runs[0]["summary"]["spread_px"]:
        cells = [(run["summary"]["spread_px"].get(pair, float("nan")), _models(run["summary"], pair)) for run in runs]
        print(f"{pair:<20}" + "".join(f"{spread:>14.2f}{models:>12}" for spread, models in cells))
    rows = {
        "spread < 1 / 0.5 px": lambda s, r: f"{s['share_spread_under_1px']:.0%} / {s['share_spread_under_0.5px']:.0%}",
        "max / mean spread": lambda s, r: f"{max(s['spread_px'].values()):.2f} / {np.mean(list(s['spread_px'].values())):.2f}",
        "bias (px)": lambda s, r: f"{s['bias_norm_px']:.2f}",
        "Rosenheim (px)": lambda s, r: f"{r['rosenheim']['rmse_after_px']:.2f} {_rosenheim_model(r)}",
    }
    for name, figure in rows.items():
        print(f"{name:<20}" + "".join(f"{figure(run['summary'], run):>26}" for run in runs))


if __name__ == "__main__":
    main()
