"""The Volkov & Shvets Sentinel-1/Sentinel-2 pairs (PNG + corner coordinates) as GeoTIFF pairs.

Each pair is a 1024² Sentinel-2 L1C RGB image and a Sentinel-1 VH image stated as pixel-aligned, with
corner coordinates in EPSG:3395 in ``volkov_metadata.json``. The stated alignment is approximate (off by
1–6 px per pair): treat it so when training or judging accuracy.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.errors import NotGeoreferencedWarning

from sarlign.georef.gates import FitGates

# The Volkov pairs carry the dataset's own manual projective refinement: affine fits to them turn an axis by
# up to 2.2° and scale by up to 2.7 % (measured on the 50 training pairs, training/alignments/). Fits to
# them, and to the eval's synthetic warps of them (±2°, ±2 %), pass these wider geometry gates.
VOLKOV_GATES = FitGates(max_rotation_deg=3.0, max_scale_change=0.03)

CRS_CODE = "EPSG:3395"


@dataclass(frozen=True)
class VolkovPair:
    """One pair: its id and paths of the optical and SAR PNGs, with the shared geotransform."""

    pair_id: str
    optical: Path
    sar: Path
    transform: Affine


@contextmanager
def open_png(path: Path) -> Iterator[rasterio.DatasetReader]:
    """Open a PNG of the dataset without the warning about its missing georeferencing."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # PNGs carry no georeferencing
        with rasterio.open(path) as src:
            yield src


NOMINAL_TRANSFORM = Affine(10.0, 0.0, 0.0, 0.0, -10.0, 0.0)


def load_pairs(folder: Path, nominal_grid: bool = False) -> list[VolkovPair]:
    """Every pair in ``folder`` (files ``volkov_<id>_opt.png``/``_sar.png``) with an unambiguous geotransform.

    With ``nominal_grid``, pairs whose metadata is missing or ambiguous are kept too, on a nominal 10 m
    grid at the origin: enough wherever only the pixel alignment of the pair matters (training).
    """
    metadata = json.loads((folder / "volkov_metadata.json").read_text())
    corners: dict[str, list] = {}
    for entry in metadata:
        corners.setdefault(entry["fragment_filename"].removesuffix(".png"), []).append(entry["corners_EPSG:3395"])
    pairs = []
    for optical in sorted(folder.glob("volkov_*_opt.png")):
        pair_id = optical.name.split("_")[1]
        sar = optical.with_name(f"volkov_{pair_id}_sar.png")
        if not sar.exists():
            continue
        if len(corners.get(pair_id, [])) != 1:
            if nominal_grid:
                pairs.append(VolkovPair(pair_id, optical, sar, NOMINAL_TRANSFORM))
            continue
        (ul, ur, _lr, ll) = corners[pair_id][0]
        with open_png(optical) as src:
            width, height = src.width, src.height
        transform = Affine((ur[0] - ul[0]) / width, 0.0, ul[0], 0.0, (ll[1] - ul[1]) / height, ul[1])
        pairs.append(VolkovPair(pair_id, optical, sar, transform))
    return pairs


def write_geotiffs(pair: VolkovPair, folder: Path) -> tuple[Path, Path]:
    """Write the pair as GeoTIFFs (optical: 3 bands; SAR: its first band), both uint8 on the stated grid."""
    paths = []
    for source, name in ((pair.optical, "opt"), (pair.sar, "sar")):
        with open_png(source) as src:
            data = src.read() if name == "opt" else src.read([1])
        path = folder / f"volkov_{pair.pair_id}_{name}.tif"
        profile = dict(driver="GTiff", width=data.shape[2], height=data.shape[1], count=data.shape[0], dtype=np.uint8,
                       crs=CRS_CODE, transform=pair.transform, tiled=True, compress="deflate")
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(data)
        paths.append(path)
    return paths[0], paths[1]
