"""Raster outputs: the SAR re-georeferenced (pixels untouched), and optionally warped onto a grid.

Both are Cloud-Optimized GeoTIFFs written by GDAL's COG driver (512² tiles, DEFLATE, overviews, the
source's dtype, nodata and band descriptions). Their overviews are not GDAL's: each level is computed
in linear power for the kind of SAR values (``georef.overviews``), written as a temporary GeoTIFF, and
declared as the bands' ``<Overview>`` in a VRT that the COG driver copies with
``OVERVIEWS=FORCE_USE_EXISTING``. The full-resolution pixels stream from the source through the VRT, so no
band is ever held in memory whole.

Georeferencing is either a geotransform (``affine.Affine``, pixel corners at integer coordinates, in the
source's CRS) or ground control points with their CRS (``GcpGeoreference``). GDAL's COG driver keeps GCPs
(checked with the GDAL that rasterio bundles, 3.10), so both are written the same way.
"""

from __future__ import annotations

import logging
import math
import re
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.dtypes import dtype_rev, typename_fwd
from rasterio.enums import Resampling
from rasterio.io import MemoryFile
from rasterio.transform import array_bounds
from rasterio.warp import aligned_target, calculate_default_transform, reproject

from sarlign.errors import OptionError
from sarlign.georef.overviews import (
    BLOCKSIZE,
    SarValues,
    write_linear_power,
    write_overview_levels,
    write_stored_scale,
)
from sarlign.georef.staging import temporary_folder_prefix
from sarlign.locations import vsi_path
from sarlign.tiling.gdal_errors import GDAL_ERRORS
from sarlign.tiling.recipe import ReferenceGrid

# NUM_THREADS: compression on every core; outputs are written after matching, when the cores are free.
COG_OPTIONS = {
    "BLOCKSIZE": BLOCKSIZE, "COMPRESS": "DEFLATE", "PREDICTOR": "YES", "BIGTIFF": "IF_SAFER", "NUM_THREADS": "ALL_CPUS",
}


@dataclass(frozen=True)
class GcpGeoreference:
    """Georeferencing by ground control points: each maps pixel (``col``, ``row``; corners at integer
    coordinates) to (``x``, ``y``, ``z``) in ``crs``, through GDAL's GCP polynomial."""

    gcps: tuple[GroundControlPoint, ...]
    crs: CRS


Georeference = Affine | GcpGeoreference
CreationOptions = tuple[tuple[str, str], ...]  # the COG driver's creation options, (KEY, VALUE) pairs


def regeoreferenced_vrt(
    source: str, georeference: Georeference, overviews: Sequence[Path] = (), nodata: float | None = None
) -> str:
    """A VRT (XML text) of every band of ``source``, pixels unchanged, georeferenced by ``georeference``;
    ``nodata`` is declared for bands whose source declares none (a product's no-data DN).

    A geotransform is taken in the source's CRS; GCPs carry their own. ``overviews`` (level files of the
    same bands, finest first) are declared as each band's overviews.
    """
    with rasterio.open(source) as src:
        root = ET.Element("VRTDataset", rasterXSize=str(src.width), rasterYSize=str(src.height))
        if isinstance(georeference, GcpGeoreference):
            gcp_list = ET.SubElement(root, "GCPList", Projection=georeference.crs.to_wkt())
            for i, gcp in enumerate(georeference.gcps):
                ET.SubElement(
                    gcp_list, "GCP", Id=gcp.id or str(i + 1), Info=gcp.info or "", Pixel=_number(gcp.col),
                    Line=_number(gcp.row), X=_number(gcp.x), Y=_number(gcp.y), Z=_number(gcp.z or 0.0),
                )
        else:
            ET.SubElement(root, "SRS").text = src.crs.to_wkt()
            ET.SubElement(root, "GeoTransform").text = ", ".join(_number(v) for v in georeference.to_gdal())
        for band in range(1, src.count + 1):
            node = ET.SubElement(root, "VRTRasterBand", dataType=typename_fwd[dtype_rev[src.dtypes[band - 1]]], band=str(band))
            declared = src.nodatavals[band - 1] if src.nodatavals[band - 1] is not None else nodata
            if declared is not None:
                ET.SubElement(node, "NoDataValue").text = repr(declared)
            if src.descriptions[band - 1]:
                ET.SubElement(node, "Description").text = src.descriptions[band - 1]
            simple = ET.SubElement(node, "SimpleSource")
            _source_band(simple, source, band)
            for level in overviews:
                _source_band(ET.SubElement(node, "Overview"), str(level), band)
    return ET.tostring(root, encoding="unicode")


def _number(value: float) -> str:
    """A number as VRT XML text, exactly (``repr`` of a Python float; a NumPy scalar's would name its type)."""
    return repr(float(value))


def _source_band(parent: ET.Element, location: str, band: int) -> None:
    """A VRT source band: a local file by its absolute path, a URL by GDAL's own name for it (a VRT is read
    by GDAL, which does not take ``s3://``), any other GDAL location (``/vsicurl/…``) verbatim."""
    ET.SubElement(parent, "SourceFilename", relativeToVRT="0").text = vsi_path(location)
    ET.SubElement(parent, "SourceBand").text = str(band)


def write_regeoreferenced_cog(
    source: str,
    georeference: Georeference,
    destination: Path,
    values: SarValues,
    creation_options: CreationOptions = (),
    nodata: float | None = None,
) -> None:
    """Write ``source`` as a COG georeferenced by ``georeference``: same pixels, bands, dtype, nodata and
    descriptions, overviews averaged in linear power for ``values``; ``creation_options`` (the COG
    driver's, KEY=VALUE pairs) on top of ``COG_OPTIONS``; ``nodata`` where the source declares none.

    The overview levels are written to a temporary folder beside ``destination`` (a third of the
    uncompressed raster at most), removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix=temporary_folder_prefix("overviews"), dir=destination.parent) as workdir:
        levels = write_overview_levels(source, Path(workdir), values, nodata)
        vrt = regeoreferenced_vrt(source, georeference, levels, nodata)
        # NONE without levels: a VRT would otherwise offer the source's own overviews, averaged who knows how.
        overviews = "FORCE_USE_EXISTING" if levels else "NONE"
        rasterio.shutil.copy(vrt, destination, driver="COG", OVERVIEWS=overviews, **{**COG_OPTIONS, **dict(creation_options)})


class _GdalWarnings(logging.Handler):
    """Collects what GDAL warns of (rasterio passes GDAL's warnings to the ``rasterio._env`` logger)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(re.sub(r"^CPLE_\w+ in ", "", record.getMessage()))


def check_creation_options(options: CreationOptions, dtype: str, count: int) -> None:
    """Write a 16² COG of ``count`` bands of ``dtype`` (the output's) in memory with ``options``: GDAL
    ignores a value it cannot use with only a warning, or writes a broken raster, which here refuses it.

    Raises:
        OptionError: names ``--co`` and GDAL's complaint.
    """
    caught, logger = _GdalWarnings(), logging.getLogger("rasterio._env")
    logger.addHandler(caught)
    try:
        with MemoryFile() as memory, MemoryFile() as copied:
            with memory.open(driver="GTiff", width=16, height=16, count=count, dtype=dtype, crs="EPSG:4326",
                             transform=Affine(1, 0, 0, 0, -1, 16)) as probe:
                probe.write(np.zeros((count, 16, 16), dtype))
            rasterio.shutil.copy(memory.name, copied.name, driver="COG", **{**COG_OPTIONS, **dict(options)})
    except GDAL_ERRORS as error:
        caught.messages.append(str(error))
    finally:
        logger.removeHandler(caught)
    if caught.messages:
        raise OptionError("--co", caught.messages[0])


def write_resampled_cog(
    source: Path,
    grid: ReferenceGrid,
    destination: Path,
    values: SarValues,
    resampling: Resampling = Resampling.bilinear,
    creation_options: CreationOptions = (),
    transformer: dict[str, object] | None = None,
) -> None:
    """Warp ``source`` onto ``grid`` with ``resampling`` and write it as a COG with overviews averaged in
    linear power for ``values``.

    ``source`` may be georeferenced by a geotransform or by GCPs (GDAL's warper then uses their
    polynomial, or what ``transformer`` asks for: see :data:`sarlign.georef.gcps.GCP_TRANSFORMERS`).
    ``average`` averages linear power, as the overviews do: a dB or amplitude source is converted to
    float32 power first and the average converted back to its scale and dtype (two more
    streaming passes, and a float32 copy of the source on disk). The warp streams, chunk by chunk, into
    temporary GeoTIFFs beside ``destination``.
    """
    with tempfile.TemporaryDirectory(prefix=temporary_folder_prefix("warp"), dir=destination.parent) as workdir:
        work = Path(workdir)
        with rasterio.open(source) as src:
            dtype, nodata = src.dtypes[0], src.nodata if src.nodata is not None else 0
        if resampling == Resampling.average and values != "power":
            write_linear_power(str(source), work / "power.tif", values)
            _warp(work / "power.tif", grid, work / "warped_power.tif", resampling, math.nan, transformer)
            warped = work / "warped.tif"
            write_stored_scale(str(work / "warped_power.tif"), warped, values, dtype, nodata)
        else:
            warped = _warp(source, grid, work / "warped.tif", resampling, nodata, transformer)
        write_regeoreferenced_cog(str(warped), grid.transform, destination, values, creation_options)


def _warp(
    source: Path, grid: ReferenceGrid, destination: Path, resampling: Resampling, nodata: float,
    transformer: dict[str, object] | None = None,
) -> Path:
    """Every band of ``source`` warped onto ``grid`` (through ``transformer``'s GCP method, if given) into a
    tiled GeoTIFF of its dtype."""
    with rasterio.open(source) as src:
        profile = dict(
            driver="GTiff", width=grid.width, height=grid.height, count=src.count, dtype=src.dtypes[0],
            crs=CRS.from_wkt(grid.crs_wkt),
            transform=grid.transform, nodata=nodata, tiled=True, blockxsize=BLOCKSIZE, blockysize=BLOCKSIZE,
            BIGTIFF="IF_SAFER",
        )
        with rasterio.open(destination, "w", **profile) as dst:
            dst.descriptions = src.descriptions
            reproject(rasterio.band(src, src.indexes), rasterio.band(dst, dst.indexes), resampling=resampling,
                      src_nodata=src.nodata, dst_nodata=nodata, **(transformer or {}))
    return destination


def resampling_grid(
    reference: ReferenceGrid, crs: CRS | None = None, resolution: tuple[float, float] | None = None
) -> ReferenceGrid:
    """The reference grid, or the reference's extent in ``crs`` at ``resolution`` (x, y; units of the
    CRS, the reference CRS when ``crs`` is None): GDAL's suggested warp grid for that extent, its edges
    snapped to multiples of the resolution (target-aligned pixels, as ``gdalwarp -tap``)."""
    if crs is None and resolution is None:
        return reference
    source_crs = CRS.from_wkt(reference.crs_wkt)
    crs = crs or source_crs
    west, south, east, north = array_bounds(reference.height, reference.width, reference.transform)
    transform, width, height = calculate_default_transform(
        source_crs, crs, reference.width, reference.height, west, south, east, north, resolution=resolution
    )
    if resolution is not None:
        transform, width, height = aligned_target(transform, width, height, resolution)
    return ReferenceGrid(crs.to_wkt(), transform, width, height)
