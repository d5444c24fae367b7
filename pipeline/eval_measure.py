"""Measuring a registration: phase correlation of the registered SAR against the aligned original.

Both images are the same SAR (one resampled), so phase correlation is exact up to resampling; the
residual it finds is where the registration put the SAR relative to the dataset's stated alignment.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.transform import GCPTransformer
from rasterio.vrt import WarpedVRT
from skimage.registration import phase_cross_correlation

from sarlign.coords import map_points
from sarlign.georef.gcps import gcp_transformer


def read_on_grid(path: Path, crs: CRS, transform: Affine, width: int, height: int) -> np.ndarray:
    """Band 1 of ``path`` warped (bilinear) onto the grid, float64, NaN where it has no data."""
    with rasterio.open(path) as src, WarpedVRT(
        src, crs=crs, transform=transform, width=width, height=height, resampling=Resampling.bilinear,
        src_nodata=src.nodata, nodata=np.nan, dtype="float32",
    ) as vrt:
        return vrt.read(1).astype(np.float64)


def phase_correlation(moving: np.ndarray, fixed: np.ndarray) -> tuple[float, float]:
    """Shift (dx, dy) in pixels such that ``moving(p) ≈ fixed(p - shift)``: a feature of ``fixed`` at p
    appears at p + shift in ``moving``.

    Cross-correlation of the Hann-windowed, mean-removed images, refined to 1/50 px by an upsampled DFT
    around the peak (Guizar-Sicairos et al. 2008, as implemented by scikit-image).
    """
    h, w = fixed.shape
    window = np.outer(np.hanning(h), np.hanning(w))
    register_moving, _, _ = phase_cross_correlation(
        (fixed - fixed.mean()) * window, (moving - moving.mean()) * window, upsample_factor=50, normalization=None
    )
    dy, dx = -register_moving  # scikit-image returns the shift that moves ``moving`` back onto ``fixed``
    return float(dx), float(dy)


def window_residuals(registered: np.ndarray, original: np.ndarray, grid: int = 5, size: int = 128) -> np.ndarray:
    """Residual (dx, dy) px in ``grid``×``grid`` windows of ``size`` spread over the interior (15–85 %).

    Returns (grid², 2); NaN rows for windows where the registered image has no data.
    """
    h, w = original.shape
    out = np.full((grid * grid, 2), np.nan)
    for k, (cy, cx) in enumerate((cy, cx) for cy in np.linspace(0.15, 0.85, grid) for cx in np.linspace(0.15, 0.85, grid)):
        y0, x0 = int(cy * h) - size // 2, int(cx * w) - size // 2
        moving = registered[y0 : y0 + size, x0 : x0 + size]
        if np.isnan(moving).any():
            continue
        out[k] = phase_correlation(moving, original[y0 : y0 + size, x0 : x0 + size])
    return out


def checkpoint_residuals(
    points: np.ndarray, reference_transform: Affine, sar_georeferencing: Affine | Callable[[np.ndarray], np.ndarray]
) -> np.ndarray:
    """Residuals (N, 2), in reference pixels, of check points under a SAR's georeferencing.

    ``points`` (N, 4) holds x_ref, y_ref, x_sar, y_sar as pixel indices (pixel centres at +0.5 in the
    corner-based geotransforms): each SAR point is taken to the map by ``sar_georeferencing`` (a
    geotransform, or a function of (N, 2) pixel positions, e.g. :func:`output_pixel_to_map`) and back into
    reference pixels, and compared with where the reference shows it.
    """
    centres = points + 0.5
    to_map = partial(map_points, sar_georeferencing) if isinstance(sar_georeferencing, Affine) else sar_georeferencing
    seen = map_points(~reference_transform, to_map(centres[:, 2:]))
    return seen - centres[:, :2]


def output_pixel_to_map(path: Path, report: dict) -> Callable[[np.ndarray], np.ndarray]:
    """How a registration's output raster places (N, 2) pixel positions (x, y; corners at integers) on the
    map: its new geotransform, or its GCPs through the transformer its model's output is read with (a
    thin-plate spline for a richer model's GCP grid, GDAL's GCP polynomial otherwise)."""
    georeferencing = report["geotransform"]
    if georeferencing["new"] is not None:
        transform = Affine.from_gdal(*georeferencing["new"])
        return lambda xy: map_points(transform, xy)
    with rasterio.open(path) as src:
        gcps = src.gcps[0]
    tps = gcp_transformer(report["transform"])[0].get("SRC_METHOD") == "GCP_TPS"

    def to_map(xy: np.ndarray) -> np.ndarray:
        with GCPTransformer(gcps, tps=tps) as transformer:
            x, y = transformer.xy(xy[:, 1], xy[:, 0], offset="ul")
        return np.column_stack([x, y]).astype(np.float64)

    return to_map
