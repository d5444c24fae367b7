"""sarlign Processing provider: QGIS plugin entry point.

QGIS calls :func:`classFactory` when it loads the plugin; the plugin registers the ``sarlign`` Processing
provider, whose algorithms run the ``sarlign`` command line of the Python environment sarlign is installed in.
"""

from __future__ import annotations


def classFactory(iface):
    """The plugin object QGIS loads (``iface`` is the QGIS interface, ``None`` under qgis_process)."""
    from .plugin import SarlignPlugin

    return SarlignPlugin(iface)
