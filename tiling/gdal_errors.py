"""GDAL's errors as rasterio raises them, and GDAL's own words for them."""

from __future__ import annotations

from pyogrio.errors import DataLayerError, DataSourceError
from rasterio._err import CPLE_BaseError
from rasterio.errors import RasterioError

# What opening or reading a damaged, truncated or unreachable raster raises, or writing one where it
# cannot be written (a full disk).
GDAL_ERRORS: tuple[type[Exception], ...] = (RasterioError, CPLE_BaseError)
# What writing a vector file (the tie points' GeoPackage, through pyogrio) raises where it cannot be written.
GDAL_VECTOR_WRITE_ERRORS: tuple[type[Exception], ...] = (DataSourceError, DataLayerError)


def gdal_message(error: BaseException) -> str:
    """GDAL's own words for an error: rasterio's "Read failed. See previous exception" wraps GDAL's
    exception, which says what went wrong (e.g. a TIFF block that does not decompress)."""
    while isinstance(error.__cause__ or error.__context__, GDAL_ERRORS):
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    return " ".join(str(error).split())
