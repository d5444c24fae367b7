"""Known smooth displacement fields laid on real pixels, for the non-rigid benchmark and its tests.

A field is (2, H, W) float32 (dx, dy) in pixels of the raster it bends: the bent raster's pixel (x, y)
shows what the original shows at (x, y) + field(x, y), pixel centres sampled (bilinear). A registration of
the bent raster should therefore find that its content at (x, y) truly lies at (x, y) + field(x, y).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import rasterio
from scipy.ndimage import map_coordinates

BUMPS = 3  # per axis
AMPLITUDE_PX = (2.0, 5.0)  # either way
WIDTH_PX = (120.0, 250.0)  # the Gaussian's σ
INNER = (0.1, 0.9)  # bump centres lie in this share of each side


def random_field(shape: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """(2, H, W) per axis ``BUMPS`` Gaussian bumps of random amplitude, width and centre."""
    h, w = shape
    rows, cols = np.mgrid[0:h, 0:w].astype(np.float32)
    field = np.zeros((2, h, w), np.float32)
    for axis in range(2):
        for _ in range(BUMPS):
            amplitude, width = rng.uniform(*AMPLITUDE_PX) * rng.choice([-1, 1]), rng.uniform(*WIDTH_PX)
            cx, cy = rng.uniform(*INNER) * w, rng.uniform(*INNER) * h
            field[axis] += amplitude * np.exp(-((cols - cx) ** 2 + (rows - cy) ** 2) / (2 * width**2))
    return field


def bent_copy(source: Path, destination: Path, field: np.ndarray) -> Path:
    """Band 1 of ``source`` bent by ``field`` (see the module docstring) as float32, NaN (its nodata)
    where the field reaches beyond the raster; georeferencing kept."""
    with rasterio.open(source) as src:
        profile, image = src.profile, src.read(1).astype(np.float32)
    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(np.float32)
    bent = map_coordinates(image, [rows + field[1], cols + field[0]], order=1, mode="constant", cval=np.nan)
    profile.update(count=1, dtype="float32", nodata=np.nan)
    with rasterio.open(destination, "w", **profile) as dst:
        dst.write(bent.astype(np.float32), 1)
    return destination
