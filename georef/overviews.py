"""Overviews of SAR rasters, averaged in linear power whatever the values' scale.

GDAL's overview resamplers average the stored values; for SAR in dB that is a geometric mean of the
power, biased low (speckle makes it several dB too dark in bright, varied areas). Here each overview
pixel is the mean linear power of the valid full-resolution pixels it covers, brought back to the stored
scale:

- ``"db"``: 10·log10(mean(10^(x/10)));
- ``"power"``: mean(x) (linear power or intensity, e.g. σ⁰ as a ratio);
- ``"amplitude"``: sqrt(mean(x²)) (root mean square, the power average of amplitude digital numbers;
  rounded to the nearest integer and clipped for integer dtypes).

Level k (factor 2^k, k = 1…K) pixel (i, j) covers the full-resolution rows [2^k·i, 2^k·(i+1)) and
columns [2^k·j, 2^k·(j+1)), clipped to the raster (pixel corners at integer coordinates, as in GDAL), so a
level is ceil(width / 2^k) × ceil(height / 2^k) pixels, the sizes GDAL gives overviews. Nodata pixels (the
band's nodata value, and NaN in float bands) are left out of every mean; a pixel with no valid pixel under
it is nodata (NaN in a float band without a nodata value).

The levels are computed in one streaming pass over the source: a strip of rows at a time (a whole number
of level-K pixel rows), band by band, with per-level sums and counts halved 2×2 from the level below, so
every level is the exact mean of its full-resolution block and no band is ever held whole.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import numpy as np
import rasterio
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import DatasetWriter
from rasterio.windows import Window

SarValues = Literal["db", "power", "amplitude"]
BLOCKSIZE = 512  # the COG tile size; levels are added until one tile holds the whole raster
STRIP_ROWS = 512  # full-resolution rows read at a time (rounded up to whole level-K pixel rows)
_LN10_OVER_10 = math.log(10.0) / 10.0


def sar_values(dtype: str, already_db: bool) -> SarValues:
    """What a SAR band's values are, which decides how its overviews are averaged.

    ``already_db``: the scaling used for matching took the band as dB already (``BandScaling.log`` is
    False, from ``--sar-scale db`` or negative values under ``auto``). Otherwise integer bands are taken
    as amplitude digital numbers (Sentinel-1 GRD), and float bands as linear power.
    """
    if already_db:
        return "db"
    return "amplitude" if np.issubdtype(np.dtype(dtype), np.integer) else "power"


def overview_factors(width: int, height: int, blocksize: int = BLOCKSIZE) -> list[int]:
    """Decimation factors 2, 4, … until a level fits in one ``blocksize`` tile (GDAL COG's default count)."""
    factors: list[int] = []
    while max(math.ceil(width / 2 ** len(factors)), math.ceil(height / 2 ** len(factors))) > blocksize:
        factors.append(2 ** (len(factors) + 1))
    return factors


def write_overview_levels(source: str, directory: Path, values: SarValues, nodata: float | None = None) -> list[Path]:
    """Write the overview levels of every band of ``source`` as GeoTIFFs in ``directory``; return their
    paths, finest first (empty when the raster fits one tile). ``nodata`` is the no-data value where the
    source declares none.

    The level files keep the source's dtype, nodata and band count; they are tiled, uncompressed and
    meant to be copied into a COG, not kept (they carry no georeferencing).
    """
    with rasterio.open(source) as src:
        nodata = src.nodata if src.nodata is not None else nodata
        factors = overview_factors(src.width, src.height)
        if not factors:
            return []
        paths = [directory / f"overview_{factor}.tif" for factor in factors]
        profile = dict(
            driver="GTiff", count=src.count, dtype=src.dtypes[0], nodata=nodata, tiled=True,
            blockxsize=BLOCKSIZE, blockysize=BLOCKSIZE, BIGTIFF="IF_SAFER",
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            levels = [
                rasterio.open(path, "w", width=math.ceil(src.width / f), height=math.ceil(src.height / f), **profile)
                for path, f in zip(paths, factors)
            ]
        try:
            step = factors[-1] * math.ceil(STRIP_ROWS / factors[-1])
            for top in range(0, src.height, step):
                window = Window(0, top, src.width, min(step, src.height - top))
                for band in range(1, src.count + 1):
                    _write_strip(src.read(band, window=window), nodata, values, levels, factors, top, band)
        finally:
            for level in levels:
                level.close()
    return paths


def write_linear_power(source: str, destination: Path, values: SarValues) -> None:
    """A float32 GeoTIFF of each pixel's linear power (NaN where no data) from ``source``, whose values are
    ``values``; same size, bands and georeferencing (geotransform or GCPs), written strip by strip."""
    with rasterio.open(source) as src:
        with strip_copy(src, destination, "float32", math.nan) as dst:
            for window, band in strips(src):
                strip = src.read(band, window=window)
                valid = _valid(strip, src.nodata)
                power = _linear(strip, valid, values).astype(np.float32)
                power[~valid] = np.nan
                dst.write(power, band, window=window)


def write_stored_scale(source: str, destination: Path, values: SarValues, dtype: str, nodata: float | None) -> None:
    """The inverse of :func:`write_linear_power`: linear power (float32, NaN where no data) back to
    ``values``' scale in ``dtype``, no data as ``nodata``."""
    with rasterio.open(source) as src:
        with strip_copy(src, destination, dtype, nodata) as dst:
            for window, band in strips(src):
                power = src.read(band, window=window).astype(np.float64)
                valid = ~np.isnan(power)
                power[~valid] = 0.0
                dst.write(_from_linear(power, valid.astype(np.int32), values, np.dtype(dtype), nodata), band, window=window)


def strips(src: rasterio.DatasetReader, bands: tuple[int, ...] | None = None) -> Iterator[tuple[Window, int]]:
    """(window, band) for every strip of ``STRIP_ROWS`` full rows of each of ``bands`` (default: all)."""
    for top in range(0, src.height, STRIP_ROWS):
        window = Window(0, top, src.width, min(STRIP_ROWS, src.height - top))
        for band in bands or range(1, src.count + 1):
            yield window, band


def strip_copy(
    src: rasterio.DatasetReader, destination: Path, dtype: str, nodata: float | None, count: int | None = None
) -> DatasetWriter:
    """An open tiled GeoTIFF like ``src`` (size, geotransform or GCPs, and unless ``count`` says otherwise
    its bands and their descriptions) in ``dtype``, for strip-by-strip writing."""
    profile = dict(
        driver="GTiff", width=src.width, height=src.height, count=count or src.count, dtype=dtype, nodata=nodata,
        tiled=True, blockxsize=BLOCKSIZE, blockysize=BLOCKSIZE, BIGTIFF="IF_SAFER",
    )
    gcps, gcps_crs = src.gcps
    if not gcps:
        profile.update(crs=src.crs, transform=src.transform)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        dst = rasterio.open(destination, "w", **profile)
    if gcps:
        dst.gcps = (gcps, gcps_crs)
    if count is None:
        dst.descriptions = src.descriptions
    return dst


def _write_strip(
    strip: np.ndarray,
    nodata: float | None,
    values: SarValues,
    levels: list,
    factors: list[int],
    top: int,
    band: int,
) -> None:
    """Reduce one full-resolution strip (rows from ``top``, a multiple of the largest factor) of one band
    into each level and write the level's rows."""
    valid = _valid(strip, nodata)
    sums, counts = _linear(strip, valid, values), valid
    for level, factor in zip(levels, factors):
        sums, counts = _halve(sums, np.float64), _halve(counts, np.int32)
        means = _from_linear(sums, counts, values, strip.dtype, nodata)
        level.write(means, band, window=Window(0, top // factor, means.shape[1], means.shape[0]))


def _valid(strip: np.ndarray, nodata: float | None) -> np.ndarray:
    """True where a pixel holds data: not the nodata value, and not NaN."""
    valid = np.ones(strip.shape, dtype=bool)
    if np.issubdtype(strip.dtype, np.floating):
        valid &= ~np.isnan(strip)
    if nodata is not None and not math.isnan(nodata):
        valid &= strip != nodata
    return valid


def _linear(strip: np.ndarray, valid: np.ndarray, values: SarValues) -> np.ndarray:
    """Linear power of each pixel, 0 where not valid (so sums add valid pixels only): float32 for float32
    bands, float64 for integer bands (squares of 16-bit numbers need more than float32's 24 bits)."""
    single = strip.dtype.kind == "f" and strip.dtype.itemsize <= 4
    power = strip.astype(np.float32 if single else np.float64)
    power[~valid] = 0.0
    if values == "db":
        np.exp(power * _LN10_OVER_10, out=power)
        power[~valid] = 0.0
    elif values == "amplitude":
        np.square(power, out=power)
    return power


def _halve(a: np.ndarray, dtype: type) -> np.ndarray:
    """Sums over 2×2 pixel blocks, in ``dtype`` (an odd last row or column is summed alone)."""
    rows, cols = a.shape[0] // 2, a.shape[1] // 2
    out = a[0::2, 0::2].astype(dtype)
    out[:rows, :] += a[1::2, 0::2]
    out[:, :cols] += a[0::2, 1::2]
    out[:rows, :cols] += a[1::2, 1::2]
    return out


def _from_linear(
    sums: np.ndarray, counts: np.ndarray, values: SarValues, dtype: np.dtype, nodata: float | None
) -> np.ndarray:
    """Mean linear power (sums / counts) back on the stored scale, in ``dtype``; nodata where counts is 0."""
    has_data = counts > 0
    mean = np.divide(sums, counts, out=np.zeros_like(sums), where=has_data)
    if values == "db":
        with np.errstate(divide="ignore"):
            out = 10.0 * np.log10(mean, out=np.full_like(mean, -np.inf), where=mean > 0)
    elif values == "amplitude":
        out = np.sqrt(mean)
    else:
        out = mean
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        out = np.clip(np.rint(out), info.min, info.max)
    out[~has_data] = np.nan if nodata is None else nodata
    return out.astype(dtype)
