"""sarlign: co-register Sentinel-1 SAR scenes to Sentinel-2 optical scenes."""

import os

__version__ = "0.1.0"

# GDAL's block cache defaults to 5 % of the machine's memory per process. sarlign reads by windows, so
# a small cache serves it as well, and a large one only grows: a decimated statistics read of a
# full-size SAR without overviews filled it with the whole decompressed band (800 MiB measured). Set
# before any GDAL read (GDAL reads it once, at first use); a user's own setting is kept.
os.environ.setdefault("GDAL_CACHEMAX", "256")  # MiB
