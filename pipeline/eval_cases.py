"""Misregistered test cases made from an aligned SAR GeoTIFF, for ``sarlign eval``.

Three kinds, each with its random parameters drawn from a seeded generator:
- T: the geotransform shifted by up to ±``shift`` px (pixels untouched);
- A: the pixels warped by a rotation (±``rotation`` °) and scale (±``scale``) about the image centre and
  a shift (±``shift`` px), the geotransform kept;
- X: the SAR reprojected to EPSG:4326, then its geotransform shifted by up to ±``shift`` of its pixels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.enums import Resampling
from rasterio.warp import calculate_default_transform, reproject

CASES = ("T", "A", "X")
NODATA = -9999.0


@dataclass(frozen=True)
class CaseLimits:
    shift: float = 30.0  # pixels
    rotation: float = 2.0  # degrees
    scale: float = 0.02  # relative


def _write(path: Path, data: np.ndarray, crs, transform: Affine, nodata: float | None) -> Path:
    profile = dict(driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype=data.dtype.name,
                   crs=crs, transform=transform, nodata=nodata, tiled=True, compress="deflate")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(data, 1)
    return path


def make_cases(sar: Path, folder: Path, rng: np.random.Generator, limits: CaseLimits = CaseLimits()) -> dict[str, dict]:
    """Write the T, A and X cases of ``sar`` into ``folder``; returns case → {path, parameters}."""
    with rasterio.open(sar) as src:
        data, crs, transform = src.read(1), src.crs, src.transform
    height, width = data.shape
    cases: dict[str, dict] = {}

    dx, dy = rng.uniform(-limits.shift, limits.shift, 2)
    path = _write(folder / f"{sar.stem}_T.tif", data, crs, transform @ Affine.translation(dx, dy), None)
    cases["T"] = {"path": path, "shift_px": [dx, dy]}

    angle = rng.uniform(-limits.rotation, limits.rotation)
    scale = 1 + rng.uniform(-limits.scale, limits.scale)
    tx, ty = rng.uniform(-limits.shift, limits.shift, 2)
    centre = (width / 2, height / 2)
    warp = (
        Affine.translation(tx, ty)
        @ Affine.rotation(angle, pivot=centre)
        @ Affine.translation(*centre)
        @ Affine.scale(scale)
        @ Affine.translation(-centre[0], -centre[1])
    )
    warped = np.full((height, width), NODATA, dtype=np.float32)
    # Output pixel p takes the input at warp(p): the content moves by warp⁻¹, the geotransform stays.
    reproject(data.astype(np.float32), warped, src_transform=transform, src_crs=crs,
              dst_transform=transform @ warp, dst_crs=crs, dst_nodata=NODATA, resampling=Resampling.bilinear)
    path = _write(folder / f"{sar.stem}_A.tif", warped, crs, transform, NODATA)
    cases["A"] = {"path": path, "rotation_deg": angle, "scale": scale, "shift_px": [tx, ty]}

    bounds = rasterio.transform.array_bounds(height, width, transform)
    geo_transform, geo_width, geo_height = calculate_default_transform(crs, "EPSG:4326", width, height, *bounds)
    geographic = np.full((geo_height, geo_width), NODATA, dtype=np.float32)
    reproject(data.astype(np.float32), geographic, src_transform=transform, src_crs=crs,
              dst_transform=geo_transform, dst_crs="EPSG:4326", dst_nodata=NODATA, resampling=Resampling.bilinear)
    gx, gy = rng.uniform(-limits.shift, limits.shift, 2)
    path = _write(folder / f"{sar.stem}_X.tif", geographic, "EPSG:4326", geo_transform @ Affine.translation(gx, gy), NODATA)
    cases["X"] = {"path": path, "shift_px": [gx, gy]}
    return cases
