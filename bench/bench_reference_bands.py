"""Which Sentinel-2 bands to match Sentinel-1 against: B8 alone, or the 10 m bands averaged (prints a table).

    python bench/bench_reference_bands.py ../shared/data [--matcher cfog]

The shared data's pre-registered Sentinel-1/2 pairs that carry the 10 m bands separately (Sen1Floods11's
512² scene, 13 bands of L1C; BigEarthNet's four 120² patches of L2A; both on one grid with their SAR, so the
truth is the identity) are registered with the SAR's geotransform moved by known shifts, once per band
choice, with ``--transform translation`` (a shift is all that was done to them, and all that the 120²
patches support). A choice is better when its recovered corrections lie closer to the known ones, with
fewer refusals. Each choice is given to ``sarlign register`` as the same multi-band GeoTIFF of B2, B3, B4, B8
with ``--reference-bands``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine

from sarlign.pipeline.cli import run_command_line

SHIFTS = [(7.0, -4.0), (-5.5, 3.0), (2.5, 8.5)]  # moved SAR geotransform, reference pixels (x, y)
CHOICES = {"B8": "4", "B2,B3,B4,B8 averaged": "1,2,3,4", "B2,B3,B4 averaged": "1,2,3"}
TEN_METRE = ("B02", "B03", "B04", "B08")


def sen1floods11(data: Path, work: Path) -> tuple[Path, Path]:
    folder = data / "geotiff/sen1floods11"
    (optical,) = folder.glob("*_s2.tif")
    (sar,) = folder.glob("*_s1.tif")
    return stack(optical, [2, 3, 4, 8], work / "sen1floods11_b2348.tif"), sar


def bigearthnet(data: Path, work: Path) -> list[tuple[str, Path, Path]]:
    pairs = []
    for s1 in sorted((data / "geotiff/bigearthnet/S1").iterdir()):
        s2 = json.loads((s1 / f"{s1.name}_labels_metadata.json").read_text())["corresponding_s2_patch"]
        bands = [data / "geotiff/bigearthnet/S2" / s2 / f"{s2}_{b}.tif" for b in TEN_METRE]
        pairs.append((s1.name[-8:], stack_files(bands, work / f"{s2}_b2348.tif"), s1 / f"{s1.name}_VV.tif"))
    return pairs


def stack(source: Path, bands: list[int], destination: Path) -> Path:
    with rasterio.open(source) as src:
        profile = {**src.profile, "count": len(bands)}
        with rasterio.open(destination, "w", **profile) as dst:
            dst.write(src.read(bands))
    return destination


def stack_files(sources: list[Path], destination: Path) -> Path:
    with rasterio.open(sources[0]) as first:
        profile = {**first.profile, "count": len(sources)}
    with rasterio.open(destination, "w", **profile) as dst:
        for i, source in enumerate(sources, start=1):
            with rasterio.open(source) as src:
                dst.write(src.read(1), i)
    return destination


def shifted(sar: Path, shift: tuple[float, float], destination: Path) -> Path:
    with rasterio.open(sar) as src:
        profile, data = src.profile, src.read()
    profile["transform"] = profile["transform"] @ Affine.translation(*shift)
    with rasterio.open(destination, "w", **profile) as dst:
        dst.write(data)
    return destination


def error_px(reference: Path, sar: Path, bands: str, matcher: str, work: Path) -> float | None:
    """Distance (reference px) between the recovered and the known correction; None if refused."""
    errors = []
    for k, shift in enumerate(SHIFTS):
        moved = shifted(sar, shift, work / f"moved_{k}.tif")
        out = work / f"out_{k}.tif"
        code = run_command_line(
            ["register", str(reference), str(moved), "-o", str(out), "--reference-bands", bands,
             "--matcher", matcher, "--transform", "translation", "--overwrite", "-q"]
        )
        if code != 0:
            return None
        found = json.loads(out.with_suffix(".json").read_text())["correction"]["shift_px"]
        errors.append(float(np.hypot(found[0] + shift[0], found[1] + shift[1])))
    return statistics.mean(errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("data", type=Path)
    parser.add_argument("--matcher", default="cfog")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        pairs = [("sen1floods11", *sen1floods11(args.data, work)), *bigearthnet(args.data, work)]
        print(f"mean error (px) of the recovered correction over {len(SHIFTS)} shifts; '-': refused")
        print(f"{'pair':<14}" + "".join(f"{name:>24}" for name in CHOICES))
        for name, reference, sar in pairs:
            cells = [error_px(reference, sar, bands, args.matcher, work) for bands in CHOICES.values()]
            print(f"{name:<14}" + "".join(f"{'-' if c is None else f'{c:.3f}':>24}" for c in cells))


if __name__ == "__main__":
    main()
