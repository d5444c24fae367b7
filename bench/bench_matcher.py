"""Matcher throughput on real 512 × 512 tile pairs, on one process (prints a table).

    python bench/bench_matcher.py ../shared/data [--matcher cfog] [--verify] [--device cpu] [--repeats 3]

Tiles are cut from the aligned Volkov pairs (the SAR with a margin, as the pipeline reads it); the time
covers descriptors, coarse and fine matching, i.e. ``Matcher.match`` alone (and with ``--verify`` the
patch verifier after it), without I/O.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from sarlign.models import registry
from sarlign.models.patch_verifier import PatchVerifier
from sarlign.tiling.scaling import BandScaling
from sarlign.training.volkov import load_pairs, open_png

TILE = 512


def unit(values: np.ndarray, log: bool) -> np.ndarray:
    """Scale to [0, 1] by the 2-98 % range (after a log for SAR), as the pipeline does."""
    x = 10 * np.log10(np.maximum(values.astype(np.float32), 1.0)) if log else values.astype(np.float32)
    low, high = np.percentile(x, [2, 98])
    return BandScaling(False, 0.0, float(low), float(high)).to_unit(x)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--matcher", default="cfog")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--verify", action="store_true", help="Run the patch verifier on each tile's matches too.")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    matcher = registry.build(args.matcher, device=args.device)
    verifier = PatchVerifier(device=args.device) if args.verify else None
    margin = matcher.margin(40)
    times, counts = [], []
    for pair in load_pairs(args.data / "pairs" / "volkov_s1s2")[:5]:
        with open_png(pair.optical) as src:
            reference = unit(src.read().mean(axis=0), log=False)
        with open_png(pair.sar) as src:
            sar = unit(src.read(1), log=True)
        ref_tile = torch.from_numpy(reference[margin : margin + TILE, margin : margin + TILE].copy())
        sar_tile = torch.from_numpy(sar[: TILE + 2 * margin, : TILE + 2 * margin].copy())
        ones_ref, ones_sar = torch.ones_like(ref_tile, dtype=torch.bool), torch.ones_like(sar_tile, dtype=torch.bool)
        for _ in range(args.repeats):
            started = time.perf_counter()
            found = matcher.match(ref_tile, ones_ref, sar_tile, ones_sar)
            if verifier is not None:
                found = verifier.verify(ref_tile, sar_tile, found)
            if args.device == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - started)
            counts.append(len(found))
    print("| matcher | device | threads | tiles timed | median s/tile | tiles/s | tie points/tile |")
    print("|---|---|---|---|---|---|---|")
    med = statistics.median(times)
    name = args.matcher + (" + verifier" if args.verify else "")
    print(f"| {name} | {args.device} | {args.threads} | {len(times)} | {med:.3f} | {1 / med:.2f} | {statistics.mean(counts):.0f} |")


if __name__ == "__main__":
    main()
