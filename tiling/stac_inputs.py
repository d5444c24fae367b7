"""A STAC Item as an input: the asset(s) holding the bands asked for, read where they lie.

An Item is given as a local JSON file or an ``https://`` URL (a ``….json`` file, or an API's
``…/collections/C/items/ID``). Its assets are picked by band: an asset key (``nir``, ``B08``, ``vv``),
or a band an asset describes (``eo:bands``/``bands`` names and common names; ``B8`` and ``B08`` are one
band). Defaults: the near-infrared band for a Sentinel-2 Item, VV for a Sentinel-1 Item. Several
reference bands in separate assets (``B04,B03,B02``) are stacked in an in-memory VRT, read as one
raster. Asset hrefs are taken relative to the Item's own location and reach GDAL as they are
(``https://``, ``s3://``): workers read only their windows. Signed URLs (e.g. Planetary Computer's SAS
tokens) must already be in the Item.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import rasterio
from rasterio.dtypes import dtype_rev, typename_fwd

from sarlign.errors import InputError
from sarlign.locations import file_name, is_local_file, vsi_path
from sarlign.tiling.gdal_errors import GDAL_ERRORS

HTTP_TIMEOUT_S = 30
# Transient HTTP failures are retried as GDAL's reads are (see sarlign/__init__.py): 4 times, the delay
# doubling from 1 s.
HTTP_RETRIES, HTTP_RETRY_DELAY_S, HTTP_TRANSIENT = 4, 1.0, (429, 500, 502, 503, 504)
_API_ITEM = re.compile(r"^https?://[^?]+/items/[^/?.]+/?(\?.*)?$")  # …/items/ID, no file extension
DEFAULT_BANDS = {"sentinel-2": ("nir",), "sentinel-1": ("vv",)}
COMMON_NAMES = {"BLUE": "B2", "GREEN": "B3", "RED": "B4", "NIR": "B8"}  # Sentinel-2's 10 m bands


def is_stac_item(location: str) -> bool:
    """Whether ``location`` names a STAC Item: a ``.json`` file or URL (a query after it allowed), or an
    API's item URL (``…/items/ID``)."""
    return file_name(location).lower().endswith(".json") or bool(_API_ITEM.match(location))


def fetch_json(location: str) -> Any:
    """A JSON document from a file or over HTTP(S), transient HTTP failures retried.

    Raises:
        InputError: unreadable or not JSON.
    """
    if is_local_file(location) and not Path(location).is_file():
        raise InputError(location, "does not exist" if not Path(location).exists() else "is not a file")
    for attempt in range(HTTP_RETRIES + 1):
        try:
            if is_local_file(location):
                return json.loads(Path(location).read_text(encoding="utf-8"))
            with urllib.request.urlopen(location, timeout=HTTP_TIMEOUT_S) as response:  # noqa: S310 — user's URL
                return json.loads(response.read().decode("utf-8"))
        except urllib.error.HTTPError as error:
            if error.code not in HTTP_TRANSIENT or attempt == HTTP_RETRIES:
                raise InputError(location, f"cannot be read (HTTP {error.code} {error.reason})") from None
        except urllib.error.URLError as error:
            if attempt == HTTP_RETRIES:
                raise InputError(location, f"cannot be read ({error.reason})") from None
        except (OSError, ValueError) as error:
            raise InputError(location, f"cannot be read as JSON ({error})") from None
        time.sleep(HTTP_RETRY_DELAY_S * 2**attempt)
    raise AssertionError("unreachable")


def read_item(location: str) -> dict[str, Any]:
    """The Item's JSON, from a file or over HTTP(S).

    Raises:
        InputError: unreadable, not JSON, or not a STAC Item.
    """
    document = fetch_json(location)
    if not (isinstance(document, dict) and document.get("type") == "Feature" and "assets" in document):
        raise InputError(location, "is JSON but not a STAC Item (no Feature with assets)")
    return document


def _family(item: dict[str, Any]) -> str | None:
    """"sentinel-1", "sentinel-2" or None, from the Item's constellation, platform or collection."""
    properties = item.get("properties", {})
    text = " ".join(str(properties.get(k, "")) for k in ("constellation", "platform")) + " " + str(item.get("collection", ""))
    for family in DEFAULT_BANDS:
        if family in text.lower():
            return family
    return None


def band_key(text: str) -> str:
    """A band name as compared: without case or leading zeros, Sentinel-2's common names as its band names
    (``B08``, ``b8`` and ``nir`` → ``B8``; ``vv`` → ``VV``)."""
    upper = text.strip().upper()
    return re.sub(r"^B0(\d)$", r"B\1", COMMON_NAMES.get(upper, upper))


def _band_in_asset(key: str, asset: dict[str, Any], wanted: str) -> int | None:
    """The 1-based band of ``asset`` that answers to ``wanted`` (a :func:`band_key`): a band whose name or
    common name it is, or band 1 of a single-band asset whose key it is; None if none does."""
    bands = asset.get("eo:bands") or asset.get("bands") or []
    for index, band in enumerate(bands, start=1):
        if wanted in {band_key(band[f]) for f in ("name", "common_name", "eo:common_name") if band.get(f)}:
            return index
    return 1 if len(bands) <= 1 and band_key(key) == wanted else None


def _raster_assets(item: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Assets that hold pixels (a data role, or an image media type)."""
    return {
        key: asset
        for key, asset in item["assets"].items()
        if "data" in asset.get("roles", ["data"]) and "image" in asset.get("type", "image/tiff")
    }


def _pick(location: str, item: dict[str, Any], selector: str, role: str) -> tuple[str, str, int]:
    """(asset key, its href as GDAL takes it, the 1-based band in it) for one band selector."""
    assets = _raster_assets(item)
    wanted = band_key(selector)
    for key, asset in assets.items():
        band = _band_in_asset(key, asset, wanted)
        if band is not None:
            return key, _href(location, asset), band
    raise InputError(location, f"the STAC Item has no asset for band {selector} for the {role} (its raster assets: {', '.join(assets) or 'none'})")


def _href(location: str, asset: dict[str, Any]) -> str:
    """The asset's href as GDAL takes it: absolute URLs as they are, relative ones (``B08.tif``,
    ``/data/B08.tif``) resolved against the Item's location, a file's or a URL's."""
    href = asset["href"]
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", href):
        return href
    if is_local_file(location):
        return str((Path(location).resolve().parent / href).resolve())
    return urljoin(location, href)


def stacked_vrt(sources: list[tuple[str, int]]) -> str:
    """An in-memory VRT (XML text, a GDAL dataset name) whose bands are the (raster, 1-based band)
    ``sources``, in order.

    Raises:
        InputError: a raster cannot be opened, or they do not share one grid.
    """
    locations = [location for location, _ in sources]
    grids = []
    for location in locations:
        try:
            with rasterio.open(location) as src:
                grids.append((src.crs, src.transform, src.width, src.height, src.dtypes[0], src.nodata))
        except GDAL_ERRORS as error:
            raise InputError(location, f"cannot be opened as a raster ({error})") from None
    crs, transform, width, height, _, _ = grids[0]
    for location, grid in zip(locations[1:], grids[1:]):
        if grid[:4] != grids[0][:4]:
            raise InputError(location, f"is not on the grid of {locations[0]}; the bands to stack must share one")
    root = ET.Element("VRTDataset", rasterXSize=str(width), rasterYSize=str(height))
    ET.SubElement(root, "SRS").text = crs.to_wkt()
    ET.SubElement(root, "GeoTransform").text = ", ".join(repr(float(v)) for v in transform.to_gdal())
    for band, ((location, source_band), grid) in enumerate(zip(sources, grids), start=1):
        node = ET.SubElement(root, "VRTRasterBand", dataType=typename_fwd[dtype_rev[grid[4]]], band=str(band))
        if grid[5] is not None:
            ET.SubElement(node, "NoDataValue").text = repr(grid[5])
        source = ET.SubElement(node, "SimpleSource")
        ET.SubElement(source, "SourceFilename", relativeToVRT="0").text = vsi_path(location)
        ET.SubElement(source, "SourceBand").text = str(source_band)
    return ET.tostring(root, encoding="unicode")


def resolve_item(location: str, role: str, selectors: tuple[str, ...] | None) -> tuple[str, tuple[int, ...], dict[str, Any]]:
    """(the dataset to read, its 1-based bands, what the Item says of itself) for a STAC Item input.

    Raises:
        InputError: naming the Item: unreadable, no asset for a band, no default band for this Item.
    """
    item = read_item(location)
    family = _family(item)
    if selectors is None:
        if family is None:
            assets = ", ".join(_raster_assets(item))
            raise InputError(location, f"name the {role}'s band (its raster assets: {assets})")
        selectors = DEFAULT_BANDS[family] if role == "reference" or family == "sentinel-1" else ("1",)
    if role == "SAR" and len(selectors) != 1:
        raise InputError(location, f"the SAR is matched on one band, got {', '.join(selectors)}")
    picked = [_pick(location, item, s, role) for s in selectors]
    hrefs = {href for _, href, _ in picked}
    if len(hrefs) == 1:  # bands of one asset
        dataset, bands = hrefs.pop(), tuple(band for *_, band in picked)
    else:
        dataset, bands = stacked_vrt([(href, band) for _, href, band in picked]), tuple(range(1, len(picked) + 1))
    properties = item.get("properties", {})
    product: dict[str, Any] = {
        "kind": family or "stac-item",
        "stac_item": item.get("id"),
        "collection": item.get("collection"),
        "assets": [key for key, *_ in picked],
        "platform": properties.get("platform", ""),
        "datetime": properties.get("datetime") or properties.get("start_datetime") or "",
    }
    if family == "sentinel-1":
        product.update(
            instrument_mode=properties.get("sar:instrument_mode", ""),
            product_type=properties.get("sar:product_type", ""),
            polarization=band_key(selectors[0]),
            polarizations=[p.upper() for p in properties.get("sar:polarizations", [])],
            orbit_state=properties.get("sat:orbit_state", ""),
            absolute_orbit=properties.get("sat:absolute_orbit"),
            relative_orbit=properties.get("sat:relative_orbit"),
        )
    return dataset, bands, product
