"""sarlign: co-register Sentinel-1 SAR scenes to Sentinel-2 optical scenes."""

__version__ = "0.1.0"
