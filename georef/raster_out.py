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

import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.dtypes import dtype_rev, typename_fwd
from rasterio.enums import Resampling
from rasterio.warp import reproject

from sarlign.georef.overviews import BLOCKSIZE, SarValues, write_overview_levels
from sarlign.georef.staging import temporary_folder_prefix
from sarlign.locations import is_local_file

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


def regeoreferenced_vrt(source: str, georeference: Georeference, overviews: Sequence[Path] = ()) -> str:
    """A VRT (XML text) of every band of ``source``, pixels unchanged, georeferenced by ``georeference``.

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
            if src.nodatavals[band - 1] is not None:
                ET.SubElement(node, "NoDataValue").text = repr(src.nodatavals[band - 1])
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
    """A VRT source band: a local file by its absolute path, a GDAL location (``/vsicurl/…``) verbatim."""
    text = str(Path(location).resolve()) if is_local_file(location) else location
    ET.SubElement(parent, "SourceFilename", relativeToVRT="0").text = text
    ET.SubElement(parent, "SourceBand").text = str(band)


def write_regeoreferenced_cog(source: str, georeference: Georeference, destination: Path, values: SarValues) -> None:
    """Write ``source`` as a COG georeferenced by ``georeference``: same pixels, bands, dtype, nodata and
    descriptions, overviews averaged in linear power for ``values``.

    The overview levels are written to a temporary folder beside ``destination`` (a third of the
    uncompressed raster at most), removed afterwards.
    """
    with tempfile.TemporaryDirectory(prefix=temporary_folder_prefix("overviews"), dir=destination.parent) as workdir:
        levels = write_overview_levels(source, Path(workdir), values)
        vrt = regeoreferenced_vrt(source, georeference, levels)
        # NONE without levels: a VRT would otherwise offer the source's own overviews, averaged who knows how.
        overviews = "FORCE_USE_EXISTING" if levels else "NONE"
        rasterio.shutil.copy(vrt, destination, driver="COG", OVERVIEWS=overviews, **COG_OPTIONS)


def write_resampled_cog(
    source: Path, crs: CRS, transform: Affine, width: int, height: int, destination: Path, values: SarValues
) -> None:
    """Warp ``source`` (bilinear) onto the grid (crs, transform, width, height) and write it as a COG with
    overviews averaged in linear power for ``values``.

    ``source`` may be georeferenced by a geotransform or by GCPs (GDAL's warper then uses their
    polynomial). The warp streams, chunk by chunk, into a temporary GeoTIFF beside ``destination``.
    """
    with tempfile.TemporaryDirectory(prefix=temporary_folder_prefix("warp"), dir=destination.parent) as workdir:
        warped = Path(workdir) / "warped.tif"
        with rasterio.open(source) as src:
            nodata = src.nodata if src.nodata is not None else 0
            profile = dict(
                driver="GTiff", width=width, height=height, count=src.count, dtype=src.dtypes[0], crs=crs,
                transform=transform, nodata=nodata, tiled=True, blockxsize=BLOCKSIZE, blockysize=BLOCKSIZE,
                BIGTIFF="IF_SAFER",
            )
            with rasterio.open(warped, "w", **profile) as dst:
                dst.descriptions = src.descriptions
                reproject(rasterio.band(src, src.indexes), rasterio.band(dst, dst.indexes), resampling=Resampling.bilinear,
                          dst_nodata=nodata)
        write_regeoreferenced_cog(str(warped), transform, destination, values)
