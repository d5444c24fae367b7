"""sarlign: co-register Sentinel-1 SAR scenes to Sentinel-2 optical scenes."""

import os

__version__ = "0.1.0"

# GDAL's block cache defaults to 5 % of the machine's memory per process. sarlign reads by windows, so
# a small cache serves it as well, and a large one only grows: a decimated statistics read of a
# full-size SAR without overviews filled it with the whole decompressed band (800 MiB measured). Set
# before any GDAL read (GDAL reads it once, at first use); a user's own setting is kept.
os.environ.setdefault("GDAL_CACHEMAX", "256")  # MiB
# Remote inputs (HTTP, S3): a transient failure (HTTP 429, 5xx, a dropped connection) is retried, with a
# delay doubling from 1 s, before a read fails; a permanent one (404, 403) fails at once. Workers import
# sarlign too, so their reads retry alike.
os.environ.setdefault("GDAL_HTTP_MAX_RETRY", "4")
os.environ.setdefault("GDAL_HTTP_RETRY_DELAY", "1")  # s
