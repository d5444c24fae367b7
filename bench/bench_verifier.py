"""FPR95 of the patch-pair verifier against the classical CFOG similarity, on the same patch pairs.

    python bench/bench_verifier.py ../shared/data [--weights models/weights/patch_verifier_v1.pt]

Patch pairs (64 × 64) are cut from the 10 validation pairs (never trained on), at their stated alignment;
non-matching pairs are another place, or the same place shifted by 6–16 px. Prints a table.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from sarlign.models.patch_verifier import DEFAULT_WEIGHTS, load_verifier_net
from sarlign.models.structural import cfog_descriptor
from sarlign.training.data import load_training_pairs
from sarlign.training.verifier_metrics import patch_fpr95


def cfog_distance(optical: torch.Tensor, sar: torch.Tensor) -> torch.Tensor:
    """1 − zero-mean NCC of the CFOG descriptors of (B, 1, 64, 64) patch pairs (as the classical matcher scores)."""
    a = cfog_descriptor(optical, 9, 1.5).flatten(1)
    b = cfog_descriptor(sar, 9, 1.5, presmooth=2.0).flatten(1)
    a, b = a - a.mean(dim=1, keepdim=True), b - b.mean(dim=1, keepdim=True)
    return 1 - (a * b).sum(dim=1) / (a.norm(dim=1) * b.norm(dim=1)).clamp_min(1e-12)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--weights", type=Path, default=DEFAULT_WEIGHTS)
    args = parser.parse_args()
    pairs = load_training_pairs(args.data / "pairs" / "volkov_s1s2")
    net, _ = load_verifier_net(args.weights)
    rows = {"cfog NCC (classical)": patch_fpr95(None, pairs, distance=cfog_distance), f"patch verifier ({args.weights.stem})": patch_fpr95(net, pairs)}
    print("| similarity | FPR95, other place | FPR95, shifted 6–16 px |")
    print("|---|---|---|")
    for name, figures in rows.items():
        print(f"| {name} | {figures['fpr95_other_place']:.1%} | {figures['fpr95_shifted']:.1%} |")


if __name__ == "__main__":
    main()
