"""Input locations as GDAL takes them: plain strings, kept verbatim from the command line to the report.

A raster input is a *location*, not necessarily a file: ``/vsicurl/https://host/x.tif``,
``/vsizip//data/p.zip/x.tif``, ``/vsis3/bucket/x.tif``, ``https://host/x.tif``, ``s3://bucket/x.tif``
(rasterio hands URLs with a scheme to GDAL's matching ``/vsi`` handler) or a subdataset name such as
``SENTINEL2_L2A:/path/MTD.xml:10m:EPSG_32632``, or a VRT document itself (``<VRTDataset …>``, as sarlign
stacks bands of separate files). ``pathlib`` would mangle these (``Path("/vsicurl/https://h")``
collapses the double slash), so they are only ever handled as ``str``; only plain local paths are turned
into ``Path`` objects, to resolve or stat them.
"""

from __future__ import annotations

import re
from pathlib import Path

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_SUBDATASET = re.compile(r"^[A-Z][A-Z0-9_]+:")  # DRIVER:... (upper-case driver prefix, not a drive letter)


def is_local_file(location: str) -> bool:
    """Whether ``location`` is a plain path on the local file system (not a GDAL virtual path, URL or
    subdataset name)."""
    return not (
        location.startswith(("/vsi", "<VRTDataset")) or _SCHEME.match(location) or _SUBDATASET.match(location)
    )


def resolved(location: str, base: Path | None = None) -> str:
    """A local path made absolute (relative ones against ``base``, default the working folder); any other
    location unchanged."""
    if not is_local_file(location):
        return location
    path = Path(location)
    if base is not None and not path.is_absolute():
        path = base / path
    return str(path.resolve())


def display_name(location: str) -> str:
    """The last part of a location (a file name, or the last segment of a URL or virtual path)."""
    return location.rstrip("/").rsplit("/", 1)[-1] or location


def file_name(location: str) -> str:
    """The file name a location ends in, without a URL's query (a signed URL's ``?…``)."""
    return display_name(location.split("?", 1)[0] if "://" in location else location)


# URL schemes and the GDAL virtual file systems that read them (what rasterio does when it opens a URL).
_VSI_FOR_SCHEME = {"http": "/vsicurl/", "https": "/vsicurl/", "s3": "/vsis3/", "gs": "/vsigs/", "az": "/vsiaz/"}


def vsi_path(location: str) -> str:
    """``location`` as a GDAL virtual path, for nesting in another one (``/vsizip/`` + this): a URL becomes
    ``/vsicurl/https://…`` (http, https) or ``/vsis3/bucket/key`` (s3, gs, az: the scheme's handler and the
    rest of the URL); a local path is made absolute; anything else is returned unchanged."""
    scheme, _, rest = location.partition("://")
    if rest and scheme.lower() in _VSI_FOR_SCHEME:
        handler = _VSI_FOR_SCHEME[scheme.lower()]
        return handler + (location if handler == "/vsicurl/" else rest)
    return resolved(location)
