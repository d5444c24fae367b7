"""Rebuild the bundled demo pair from the Volkov GeoTIFFs (run from the repository root).

    python data/sample/make_sample.py ../shared/data/geotiff/volkov_s1s2_derived

Crops 768 × 768 px of pair 101 (Sentinel-2 RGB and Sentinel-1 VH, 10 m, EPSG:3395) and writes three
files here: the reference, the SAR as the dataset aligns it, and the SAR with its geotransform offset by
``KNOWN_OFFSET_PX`` (pixels untouched). Contains modified Copernicus Sentinel data (2020).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import rasterio
from affine import Affine
from rasterio.windows import Window

PAIR = "101"
WINDOW = Window(128, 128, 768, 768)
KNOWN_OFFSET_PX = (14.0, -9.0)  # added to the SAR's pixel → map mapping: content shows 140 m east, 90 m north
HERE = Path(__file__).parent


def crop(source: Path, destination: Path, offset_px: tuple[float, float] = (0.0, 0.0)) -> None:
    with rasterio.open(source) as src:
        data = src.read(window=WINDOW)
        transform = src.window_transform(WINDOW) @ Affine.translation(*offset_px)
        profile = src.profile | dict(width=WINDOW.width, height=WINDOW.height, transform=transform,
                                     tiled=True, blockxsize=256, blockysize=256, compress="deflate", predictor=2)
    with rasterio.open(destination, "w", **profile) as dst:
        dst.write(data)


def main(folder: Path) -> None:
    crop(folder / f"volkov_{PAIR}_opt.tif", HERE / "s2_reference.tif")
    crop(folder / f"volkov_{PAIR}_sar.tif", HERE / "s1_aligned.tif")
    crop(folder / f"volkov_{PAIR}_sar.tif", HERE / "s1_offset.tif", KNOWN_OFFSET_PX)
    with rasterio.open(HERE / "s1_aligned.tif") as src:
        res_x, res_y = src.transform.a, src.transform.e
    # The correction that undoes the offset, in the units sarlign reports (metres east/north, pixels x/y).
    known = {
        "offset_px": list(KNOWN_OFFSET_PX),
        "expected_correction_m": [-KNOWN_OFFSET_PX[0] * res_x, -KNOWN_OFFSET_PX[1] * res_y],
        "expected_correction_px": [-KNOWN_OFFSET_PX[0], -KNOWN_OFFSET_PX[1]],
    }
    (HERE / "known_offset.json").write_text(json.dumps(known, indent=2) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
