"""The plugin object: registers the sarlign Processing provider with QGIS."""

from __future__ import annotations

from typing import Optional

from qgis.core import QgsApplication

from .provider import SarlignProvider


class SarlignPlugin:
    """Adds the ``sarlign`` provider to the Processing registry while the plugin is loaded."""

    def __init__(self, iface: object) -> None:
        self.iface = iface
        self.provider: Optional[SarlignProvider] = None

    def initProcessing(self) -> None:
        """Register the provider (QGIS calls this alone under qgis_process, after initGui in the desktop)."""
        if self.provider is None:
            self.provider = SarlignProvider()
            QgsApplication.processingRegistry().addProvider(self.provider)

    def initGui(self) -> None:
        """The plugin adds no buttons or menus of its own: its algorithms live in the Processing Toolbox."""
        self.initProcessing()

    def unload(self) -> None:
        """Remove the provider (and with it its Processing setting)."""
        if self.provider is not None:
            QgsApplication.processingRegistry().removeProvider(self.provider)
            self.provider = None
