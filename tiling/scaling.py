"""Radiometric scaling of each input band to a common [0, 1] range, from scene-wide statistics.

Statistics come from a decimated read of the whole band (at most ``STATS_SIZE`` px on the long side), so
they cost one overview-level read (or one pass over the blocks) and are the same for every tile. SAR bands are put on a log (dB)
scale first unless they already hold dB (negative values present).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import rasterio
from rasterio.enums import Resampling
from rasterio.windows import Window

from sarlign.errors import InputError
from sarlign.tiling.gdal_errors import GDAL_ERRORS, gdal_message

STATS_SIZE = 1024
SarScale = Literal["auto", "linear", "db"]


@dataclass(frozen=True)
class BandScaling:
    """``to_unit(x) = clip((f(x) - low) / (high - low), 0, 1)`` with ``f`` = 10·log10(max(x, floor)) if ``log``."""

    log: bool
    floor: float
    low: float
    high: float

    def to_unit(self, values: np.ndarray) -> np.ndarray:
        """Scale raw band values (any shape) to float32 in [0, 1]."""
        x = values.astype(np.float32, copy=False)
        if self.log:
            x = 10.0 * np.log10(np.maximum(x, self.floor))
        return np.clip((x - self.low) / (self.high - self.low), 0.0, 1.0)


def _decimated_valid(path: str, band: int, nodata: float | None) -> np.ndarray:
    """Valid values of one band from a read of at most ``STATS_SIZE`` px on the long side (1-D array).

    Read one strip of blocks at a time: each block is decompressed once and the block cache never has to
    hold the band (a single decimated read of a full-size SAR without overviews re-read blocks or grew
    the cache to the whole band). GDAL uses overviews where the file has them.
    """
    strips = []
    with rasterio.open(path) as src:
        factor = max(1.0, max(src.width, src.height) / STATS_SIZE)
        width = max(1, round(src.width / factor))
        strip_height = src.block_shapes[band - 1][0]
        for top in range(0, src.height, strip_height):
            window = Window(0, top, src.width, min(strip_height, src.height - top))
            rows = max(1, round(window.height / factor))
            strip = src.read(band, window=window, out_shape=(rows, width), resampling=Resampling.nearest, masked=True)
            strips.append(strip.compressed() if np.ma.isMaskedArray(strip) else strip.ravel())
    values = np.concatenate(strips)
    if nodata is not None:
        values = values[values != nodata]
    values = values[np.isfinite(values)]
    return values.astype(np.float64)


def band_scaling(
    path: str, band: int, nodata: float | None, role: str, sar_scale: SarScale | None = None
) -> BandScaling:
    """Scene-wide scaling for one band: 2nd–98th percentile range, after a log for SAR in linear units.

    ``sar_scale`` is None for optical bands; for SAR, "auto" takes values as dB when any are negative and
    as linear (power or amplitude) otherwise.

    Raises:
        InputError: the band holds no valid pixel, or has no contrast at all.
    """
    try:
        values = _decimated_valid(path, band, nodata)
    except GDAL_ERRORS as error:
        raise InputError(path, f"band {band} of the {role} cannot be read (damaged or truncated? {gdal_message(error)})") from None
    if values.size == 0:
        raise InputError(path, f"band {band} of the {role} holds no valid pixel (all nodata)")
    log = sar_scale == "linear" or (sar_scale == "auto" and values.min() >= 0)
    floor = 0.0
    if log:
        positive = values[values > 0]
        if positive.size == 0:
            raise InputError(path, f"band {band} of the {role} holds no positive value to take in dB")
        floor = float(np.percentile(positive, 0.5))
        values = 10.0 * np.log10(np.maximum(values, floor))
    low, high = np.percentile(values, [2.0, 98.0])
    if not high > low:
        raise InputError(path, f"band {band} of the {role} has no contrast (constant values)")
    return BandScaling(log=bool(log), floor=floor, low=float(low), high=float(high))
