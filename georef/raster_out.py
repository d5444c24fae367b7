"""Raster outputs: the SAR with its new geotransform (pixels untouched), and optionally warped.

Both are Cloud-Optimized GeoTIFFs (GDAL's COG driver: internal tiling, overviews, DEFLATE). The
re-georeferenced SAR is produced in one streaming pass from a VRT that points at the original pixels
with the new geotransform, so no band is ever held in memory whole.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import rasterio
import rasterio.shutil
from affine import Affine
from rasterio.crs import CRS
from rasterio.dtypes import dtype_rev, typename_fwd
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT

# NUM_THREADS: compression on every core; outputs are written after matching, when the cores are free.
COG_OPTIONS = {"COMPRESS": "DEFLATE", "PREDICTOR": "YES", "OVERVIEWS": "AUTO", "BIGTIFF": "IF_SAFER", "NUM_THREADS": "ALL_CPUS"}


def regeoreferenced_vrt(source: str, transform: Affine) -> str:
    """A VRT (XML text) of every band of ``source``, unchanged, with ``transform`` as its geotransform."""
    with rasterio.open(source) as src:
        root = ET.Element("VRTDataset", rasterXSize=str(src.width), rasterYSize=str(src.height))
        ET.SubElement(root, "SRS").text = src.crs.to_wkt()
        ET.SubElement(root, "GeoTransform").text = ", ".join(repr(v) for v in transform.to_gdal())
        for band in range(1, src.count + 1):
            node = ET.SubElement(root, "VRTRasterBand", dataType=typename_fwd[dtype_rev[src.dtypes[band - 1]]], band=str(band))
            if src.nodatavals[band - 1] is not None:
                ET.SubElement(node, "NoDataValue").text = repr(src.nodatavals[band - 1])
            if src.descriptions[band - 1]:
                ET.SubElement(node, "Description").text = src.descriptions[band - 1]
            simple = ET.SubElement(node, "SimpleSource")
            ET.SubElement(simple, "SourceFilename", relativeToVRT="0").text = str(Path(source).resolve())
            ET.SubElement(simple, "SourceBand").text = str(band)
    return ET.tostring(root, encoding="unicode")


def write_regeoreferenced_cog(source: str, transform: Affine, destination: Path) -> None:
    """Write ``source`` as a COG with ``transform``: same bands, dtype, nodata and descriptions."""
    rasterio.shutil.copy(regeoreferenced_vrt(source, transform), destination, driver="COG", RESAMPLING="AVERAGE", **COG_OPTIONS)


def write_resampled_cog(
    source: Path, crs: CRS, transform: Affine, width: int, height: int, destination: Path
) -> None:
    """Warp ``source`` (bilinear) onto the grid (crs, transform, width, height) and write it as a COG."""
    with rasterio.open(source) as src:
        nodata = src.nodata if src.nodata is not None else 0
        with WarpedVRT(
            src, crs=crs, transform=transform, width=width, height=height, resampling=Resampling.bilinear, nodata=nodata
        ) as vrt:
            rasterio.shutil.copy(vrt, destination, driver="COG", RESAMPLING="AVERAGE", **COG_OPTIONS)
