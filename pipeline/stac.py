"""The STAC Item of one registration (STAC 1.1): what was written, where it lies, and how it was made.

- geometry and bbox: the co-registered SAR's footprint in EPSG:4326 (longitude, latitude), its edges
  densified before reprojection (and, for a GCP-georeferenced output, mapped through the GCP polynomial);
- ``datetime``: the SAR's acquisition time when its metadata gives one (``ACQUISITION_START_TIME``, or
  ``TIFFTAG_DATETIME``, which Sentinel-1 GRD measurement GeoTIFFs set to the acquisition start), taken
  as UTC; otherwise the processing time, as the lineage then says (STAC requires a datetime);
- projection extension (v2), item level, for the co-registered SAR: ``proj:code``, ``proj:shape``
  [rows, columns] and ``proj:transform`` (the new geotransform's six terms in rasterio's order a, b, c,
  d, e, f; pixel corners at integer coordinates). A GCP-georeferenced output has no geotransform:
  ``proj:transform`` is omitted and ``proj:code`` is the GCPs' CRS. The resampled raster's asset carries
  its own projection fields (the reference grid);
- raster extension: per band nodata, data type and unit on each raster asset;
- processing extension: software versions, lineage, processing datetime;
- for a Sentinel-1 product input: the SAR extension (instrument mode, C band, polarizations, product type)
  and the satellite extension (orbit state, relative and absolute orbit), with platform, constellation
  and instrument;
- assets: every output present, with hrefs relative to the item (all outputs lie beside it); links:
  ``derived_from`` both inputs (a file name when beside the item, else the absolute path).
"""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pystac
import rasterio
from pystac.extensions.projection import ProjectionExtension
from pystac.extensions.raster import DataType, NoDataStrings, RasterBand, RasterExtension
from pystac.extensions.sar import FrequencyBand, Polarization, SarExtension
from pystac.extensions.sat import OrbitState, SatExtension
from rasterio.crs import CRS

from sarlign.georef.overviews import SarValues
from sarlign.locations import display_name, is_local_file
from sarlign.tiling.scene import georeferenced_by_gcps, open_raster

S1_CENTRE_FREQUENCY_GHZ = 5.405
PROCESSING_SCHEMA = "https://stac-extensions.github.io/processing/v1.2.0/schema.json"
# Where an input's metadata may say when the SAR was acquired, most explicit first.
ACQUISITION_TAGS = ("ACQUISITION_START_TIME", "TIFFTAG_DATETIME")
UNITS: dict[SarValues, str] = {"db": "dB", "power": "1", "amplitude": "DN"}  # "1": a linear power ratio
FOOTPRINT_POINTS_PER_EDGE = 8  # enough for the curvature of a reprojected scene edge
# Output name (OutputPaths field) → asset roles, media type and title.
ASSETS: dict[str, tuple[list[str], str, str]] = {
    "raster": (["data"], pystac.MediaType.COG, "SAR co-registered to the reference (pixels unchanged)"),
    "resampled": (["data"], pystac.MediaType.COG, "SAR resampled onto the reference grid"),
    "report": (["metadata"], pystac.MediaType.JSON, "Registration report"),
    "tie_points": (["metadata"], pystac.MediaType.GEOPACKAGE, "Tie points, tiles and residuals"),
    "points": (["metadata"], pystac.MediaType.TEXT, "Tie points for the QGIS Georeferencer"),
    "checkerboard": (["overview"], pystac.MediaType.PNG, "Checkerboard of reference and SAR, before and after"),
    "residual_map": (["overview"], pystac.MediaType.PNG, "Map of the tie points' residuals"),
    "field_map": (["overview"], pystac.MediaType.PNG, "Map of the field beyond the affine"),
}


def acquisition_time(path: str) -> datetime | None:
    """When the raster at ``path`` was acquired, from its metadata tags (UTC unless they say otherwise)."""
    with rasterio.open(path) as src:
        tags = src.tags()
    for key in ACQUISITION_TAGS:
        if key in tags:
            parsed = parse_time(tags[key])
            if parsed is not None:
                return parsed
    return None


def parse_time(text: str) -> datetime | None:
    """A TIFF "YYYY:MM:DD HH:MM:SS" or an ISO 8601 time; naive times are taken as UTC."""
    text = text.strip().replace("Z", "+00:00")
    for parse in (lambda t: datetime.strptime(t, "%Y:%m:%d %H:%M:%S"), datetime.fromisoformat):
        try:
            value = parse(text)
        except ValueError:
            continue
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    return None


def build_item(report: dict[str, Any], files: dict[str, Path], values: SarValues) -> pystac.Item:
    """The STAC Item of a registration from its ``report`` and ``files`` (output name → the file as it is
    now, perhaps under a temporary name; only outputs present). Final names come from the report's
    ``outputs``; ``values`` says what the SAR's pixels hold (for the bands' unit)."""
    finals = {name: Path(path) for name, path in report["outputs"].items()}
    raster = open_raster(str(files["raster"]), "output", allow_gcps=True)
    densify = max(raster.width, raster.height) / FOOTPRINT_POINTS_PER_EDGE
    footprint = raster.footprint_in(CRS.from_epsg(4326), densify_px=densify)
    processed = datetime.fromisoformat(report["created"])
    sar = report["inputs"]["sar"]
    product_time = sar["product"].get("datetime")
    acquired = parse_time(product_time) if product_time else acquisition_time(sar["dataset"])
    item = pystac.Item(
        id=finals["raster"].with_suffix("").name,
        geometry=footprint.__geo_interface__,
        bbox=list(footprint.bounds),
        datetime=acquired or processed,
        properties={"created": report["created"]},
    )
    _add_projection(ProjectionExtension.ext(item, add_if_missing=True), files["raster"])
    item.stac_extensions.append(PROCESSING_SCHEMA)
    item.properties.update(_processing(report, acquired is not None))
    if sar["product"].get("kind") == "sentinel-1":
        _add_sentinel1(item, sar["product"])
    for name, path in files.items():
        if name not in ASSETS or name not in finals:
            continue
        roles, media_type, title = ASSETS[name]
        asset = pystac.Asset(href=finals[name].name, media_type=media_type, roles=roles, title=title)
        item.add_asset(name, asset)
        if media_type == pystac.MediaType.COG:
            _add_raster_bands(RasterExtension.ext(asset, add_if_missing=True), path, values)
            if name != "raster":
                _add_projection(ProjectionExtension.ext(asset), path)
    stac_dir = finals["stac"].resolve().parent
    for role, title in (("reference", "optical reference input"), ("sar", "SAR input")):
        item.add_link(pystac.Link("derived_from", _input_href(report["inputs"][role]["path"], stac_dir), title=title))
    return item


def _add_sentinel1(item: pystac.Item, product: dict[str, Any]) -> None:
    """The SAR and satellite extensions' fields, and the platform, of a Sentinel-1 GRD input (C band,
    5.405 GHz), from what the product says of itself (see :mod:`sarlign.tiling.inputs`)."""
    item.common_metadata.constellation = "sentinel-1"
    item.common_metadata.instruments = ["c-sar"]
    platform = str(product.get("platform", ""))
    if platform:  # a product's mission id (S1A → sentinel-1a), or a STAC Item's platform as it is
        item.common_metadata.platform = f"sentinel-{platform[1:].lower()}" if re.fullmatch(r"S1[A-D]", platform) else platform
    if product.get("instrument_mode") and product.get("product_type") and product.get("polarizations"):
        SarExtension.ext(item, add_if_missing=True).apply(
            instrument_mode=product["instrument_mode"],
            frequency_band=FrequencyBand.C,
            polarizations=[Polarization(p) for p in product["polarizations"]],
            product_type=product["product_type"],
            center_frequency=S1_CENTRE_FREQUENCY_GHZ,
        )
    orbit = {"orbit_state": product.get("orbit_state"), "relative_orbit": product.get("relative_orbit"),
             "absolute_orbit": product.get("absolute_orbit")}
    if any(orbit.values()):
        SatExtension.ext(item, add_if_missing=True).apply(
            orbit_state=OrbitState(orbit["orbit_state"]) if orbit["orbit_state"] else None,
            relative_orbit=orbit["relative_orbit"],
            absolute_orbit=orbit["absolute_orbit"],
        )


def write_item(item: pystac.Item, path: Path) -> None:
    """Write ``item`` as JSON at ``path``, hrefs exactly as set (relative ones stay relative)."""
    document = item.to_dict(include_self_link=False, transform_hrefs=False)
    path.write_text(json.dumps(document, indent=2) + "\n")


def _add_projection(proj: ProjectionExtension, path: Path) -> None:
    """``proj:code`` (or ``proj:wkt2`` for a CRS without an EPSG code), shape and, unless the raster is
    georeferenced by GCPs alone, transform."""
    with rasterio.open(path) as src:
        by_gcps = georeferenced_by_gcps(src)
        crs = src.gcps[1] if by_gcps else src.crs
        epsg = crs.to_epsg()
        proj.code = f"EPSG:{epsg}" if epsg else None
        if epsg is None:
            proj.wkt2 = crs.to_wkt()
        proj.shape = [src.height, src.width]
        if not by_gcps:
            proj.transform = list(src.transform)[:6]


def _add_raster_bands(raster: RasterExtension, path: Path, values: SarValues) -> None:
    with rasterio.open(path) as src:
        raster.bands = [
            RasterBand.create(nodata=_nodata(nodata), data_type=DataType(dtype), unit=UNITS[values])
            for dtype, nodata in zip(src.dtypes, src.nodatavals)
        ]


def _nodata(value: float | None) -> float | NoDataStrings | None:
    """A band's nodata as STAC writes it: NaN and infinities as strings (JSON has no such numbers)."""
    if value is None or math.isfinite(value):
        return value
    if math.isnan(value):
        return NoDataStrings.NAN
    return NoDataStrings.INF if value > 0 else NoDataStrings.NINF


def _processing(report: dict[str, Any], acquired: bool) -> dict[str, Any]:
    """The processing extension's fields, from the report."""
    quality, shift = report["quality"], report["correction"]["shift_m"]
    lineage = (
        f"SAR {display_name(report['inputs']['sar']['path'])} co-registered to the optical reference "
        f"{display_name(report['inputs']['reference']['path'])} by sarlign: tiles matched with "
        f"{report['matcher']['name']}, a robust {report['transform']} fit over {quality['inliers']} inlier tie "
        f"points (RMSE {quality['rmse_px']:.2f} reference pixels), correction {shift[0]:.1f} m east, "
        f"{shift[1]:.1f} m north; the SAR's georeferencing was replaced, its pixels left unchanged."
    )
    if not acquired:
        lineage += " The SAR's metadata gives no acquisition time: datetime is the processing time."
    return {
        "processing:lineage": lineage,
        "processing:software": {k: v for k, v in report["versions"].items() if k != "platform"},
        "processing:datetime": report["created"],
    }


def _input_href(location: str, stac_dir: Path) -> str:
    """An input's href from the item: a local file's name when it lies beside the item, else its absolute
    path; any other GDAL location (``/vsicurl/…``, ``s3://…``) verbatim."""
    if not is_local_file(location):
        return location
    resolved = Path(location).resolve()
    return resolved.name if resolved.parent == stac_dir else str(resolved)
