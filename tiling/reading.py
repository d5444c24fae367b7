"""Worker-side reading of a tile pair from a recipe.

Each worker thread keeps its datasets and warped views open (one per file and version), so a file is
opened once per worker, not once per tile. The SAR is read through a ``WarpedVRT`` onto the (margin-extended) reference
grid: only the pixels a tile needs are warped, never the whole scene. A SAR georeferenced by GCPs alone is
warped with GDAL's GCP transformer instead (``rasterio.warp.reproject`` of the tile's window: rasterio's
``WarpedVRT`` onto a given grid only knows geotransforms), which also reads only the source pixels the
window needs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import numpy as np
import rasterio
from affine import Affine
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.warp import reproject
from rasterio.windows import Window, from_bounds
from scipy.ndimage import distance_transform_edt

from sarlign.errors import InputError
from sarlign.tiling.gdal_errors import GDAL_ERRORS, gdal_message
from sarlign.tiling.recipe import ClassMask, RasterSource, ReferenceGrid, TileRecipe
from sarlign.tiling.scene import georeferenced_by_gcps

T = TypeVar("T")


@dataclass(frozen=True)
class TilePair:
    """Pixels of one tile pair, scaled to [0, 1] (float32), with validity masks (bool).

    ``reference`` is (H, W); ``sar`` is (H + 2·margin, W + 2·margin) on the same grid, its pixel
    (margin, margin) lying on the reference tile's pixel (0, 0).
    """

    reference: np.ndarray
    reference_valid: np.ndarray
    sar: np.ndarray
    sar_valid: np.ndarray
    margin: int


def _version(path: str) -> tuple[int, int]:
    """(modification time, size) of a local file, so a file replaced at the same path is opened afresh;
    (0, 0) for GDAL virtual paths (/vsis3/..., /vsicurl/...), which are taken as immutable."""
    try:
        stat = os.stat(path)
    except OSError:
        return (0, 0)
    return (stat.st_mtime_ns, stat.st_size)


@lru_cache(maxsize=64)
def _open(path: str, version: tuple[int, int], thread: int) -> rasterio.DatasetReader:
    return rasterio.open(path)


@lru_cache(maxsize=64)
def _warped(path: str, version: tuple[int, int], nodata: float | None, grid: ReferenceGrid, thread: int) -> WarpedVRT:
    src = _open(path, version, thread)
    options = dict(
        crs=CRS.from_wkt(grid.crs_wkt),
        transform=grid.transform,
        width=grid.width,
        height=grid.height,
        resampling=Resampling.bilinear,
    )
    if nodata is None:  # no nodata value: an alpha band marks where the SAR has no data
        return WarpedVRT(src, add_alpha=True, **options)
    return WarpedVRT(src, src_nodata=nodata, nodata=nodata, **options)


def warp_onto_grid(
    src: rasterio.DatasetReader,
    bands: list[int],
    crs: CRS,
    transform: Affine,
    shape: tuple[int, int],
    nodata: float | None,
    resampling: Resampling = Resampling.bilinear,
    transformer: dict[str, object] | None = None,
) -> np.ma.MaskedArray:
    """Warp ``bands`` of ``src`` onto the grid (crs, transform, shape=(H, W)) with GDAL's warper, through
    the file's own georeferencing (a geotransform, or GCPs read by GDAL's GCP polynomial or as
    ``transformer``'s options say, e.g. ``SRC_METHOD=GCP_TPS``), reading only the source pixels needed.

    Returns (B, H, W) float32, masked where the source has no data (outside its extent, or ``nodata``).
    """
    out = np.full((len(bands), *shape), np.nan, dtype=np.float32)
    reproject(
        rasterio.band(src, bands),
        out,
        src_nodata=nodata,
        dst_transform=transform,
        dst_crs=crs,
        dst_nodata=np.nan,
        resampling=resampling,
        **(transformer or {}),
    )
    return np.ma.masked_invalid(out)


def fill_from_nearest(image: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """``image`` (H, W) with each invalid pixel set to the nearest valid one.

    A hard step from data to a fill value would look like a strong edge to gradient-based matchers; the
    nearest-value fill has no gradient across the data boundary. All-invalid images are returned as zeros.
    """
    if valid.all():
        return image
    if not valid.any():
        return np.zeros_like(image)
    rows, cols = distance_transform_edt(~valid, return_distances=False, return_indices=True)
    return image[rows, cols]


def scaled_grey(data: np.ma.MaskedArray, source: RasterSource) -> tuple[np.ndarray, np.ndarray]:
    """Scale each band (B, H, W) to [0, 1] and average them; valid where every band is valid.

    Invalid pixels are filled from their nearest valid neighbour (see :func:`fill_from_nearest`).
    """
    valid = ~np.ma.getmaskarray(data).any(axis=0)
    raw = np.ma.getdata(data)
    if source.nodata is not None:
        valid &= ~(raw == source.nodata).any(axis=0)
    valid &= np.isfinite(raw).all(axis=0)
    scaled = np.mean([s.to_unit(band) for s, band in zip(source.scalings, raw)], axis=0)
    return fill_from_nearest(np.where(valid, scaled, 0.0), valid).astype(np.float32), valid


def read_reference(source: RasterSource, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """Reference pixels of ``window`` (reference grid): scaled grey (H, W) float32 and validity (H, W);
    pixels of the source's masked classes are not valid."""
    src = _open(source.path, _version(source.path), threading.get_ident())
    data = src.read(list(source.bands), window=window, masked=True)
    if source.mask is not None:
        masked = read_classes(source.mask, src.window_bounds(window), (int(window.height), int(window.width)))
        data = np.ma.masked_array(np.ma.getdata(data), np.ma.getmaskarray(data) | masked[None])
    return scaled_grey(data, source)


def read_classes(mask: ClassMask, bounds: tuple[float, float, float, float], shape: tuple[int, int]) -> np.ndarray:
    """(H, W) bool: where the classification, read (nearest) over ``bounds`` (left, bottom, right, top, in
    its CRS) onto ``shape`` pixels, holds one of ``mask.classes``."""
    src = _open(mask.path, _version(mask.path), threading.get_ident())
    window = from_bounds(*bounds, transform=src.transform)
    classes = src.read(mask.band, window=window, out_shape=shape, resampling=Resampling.nearest, boundless=True, fill_value=0)
    return np.isin(classes, mask.classes)


def read_sar_on_grid(source: RasterSource, grid: ReferenceGrid, window: Window) -> tuple[np.ndarray, np.ndarray]:
    """SAR pixels warped onto ``grid`` for ``window`` (in ``grid``'s pixels): scaled (H, W) and validity."""
    src = _open(source.path, _version(source.path), threading.get_ident())
    if georeferenced_by_gcps(src):
        transform = grid.transform @ Affine.translation(window.col_off, window.row_off)
        shape = (int(window.height), int(window.width))
        data = warp_onto_grid(src, list(source.bands), CRS.from_wkt(grid.crs_wkt), transform, shape, source.nodata)
        return scaled_grey(data, source)
    vrt = _warped(source.path, _version(source.path), source.nodata, grid, threading.get_ident())
    data = vrt.read(list(source.bands), window=window, masked=True)
    if source.nodata is None:
        alpha = vrt.read(vrt.count, window=window)
        data = np.ma.masked_array(np.ma.getdata(data), np.ma.getmaskarray(data) | (alpha == 0))
    return scaled_grey(data, source)


def _read_or_blame(source: RasterSource, tile_id: str, read: Callable[[], T]) -> T:
    """``read()``, with GDAL's read errors turned into an ``InputError`` naming the file: a damaged input (a
    truncated download, a corrupt block) is the input's fault, even when only a worker's tile read finds it.

    The error is raised outside the ``except`` clause so that it carries no GDAL exception as its context:
    Dask pickles exception chains on workers, and GDAL's exceptions cannot be unpickled.
    """
    try:
        return read()
    except GDAL_ERRORS as error:
        problem = f"cannot be read at tile {tile_id} (damaged or truncated? {gdal_message(error)})"
    raise InputError(source.path, problem)


def read_tile_pair(recipe: TileRecipe) -> TilePair:
    """Read the reference tile and the SAR around it, both on the reference grid.

    Raises:
        InputError: a file cannot be read (names it).
    """
    reference, reference_valid = _read_or_blame(
        recipe.reference, recipe.tile_id, lambda: read_reference(recipe.reference, recipe.window)
    )
    m = recipe.margin
    w = recipe.window
    # In the extended grid, reference pixel (x, y) sits at (x + m, y + m): the SAR window starting at the
    # tile's own offsets therefore begins m pixels before the tile on each axis.
    sar_window = Window(w.col_off, w.row_off, w.width + 2 * m, w.height + 2 * m)
    sar, sar_valid = _read_or_blame(
        recipe.sar, recipe.tile_id, lambda: read_sar_on_grid(recipe.sar, recipe.grid.extended(m), sar_window)
    )
    return TilePair(reference, reference_valid, sar, sar_valid, m)
