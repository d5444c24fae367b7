"""The ``sarlign`` Processing provider: its algorithms and its one setting, the sarlign executable."""

from __future__ import annotations

from processing.core.ProcessingConfig import ProcessingConfig, Setting
from qgis.core import QgsProcessingProvider

from .batch_algorithm import BatchAlgorithm
from .register_algorithm import RegisterAlgorithm
from .runner import EXECUTABLE_SETTING


class SarlignProvider(QgsProcessingProvider):
    """Provider ``sarlign`` with ``sarlign:register`` and ``sarlign:batch``."""

    def id(self) -> str:
        return "sarlign"

    def name(self) -> str:
        return "sarlign"

    def longName(self) -> str:
        return "sarlign: SAR to optical co-registration"

    def load(self) -> bool:
        """Add the 'sarlign executable' setting (Processing → Options → Providers → sarlign), then the algorithms."""
        ProcessingConfig.settingIcons[self.name()] = self.icon()
        ProcessingConfig.addSetting(
            Setting(
                self.name(),
                EXECUTABLE_SETTING,
                "sarlign executable",
                "",
                valuetype=Setting.FILE,
                placeholder=f"empty: ${EXECUTABLE_SETTING}, else sarlign on PATH",
            )
        )
        ProcessingConfig.readSettings()
        self.refreshAlgorithms()
        return True

    def unload(self) -> None:
        """Remove the setting again."""
        ProcessingConfig.removeSetting(EXECUTABLE_SETTING)

    def loadAlgorithms(self) -> None:
        self.addAlgorithm(RegisterAlgorithm())
        self.addAlgorithm(BatchAlgorithm())

    def supportedOutputRasterLayerExtensions(self) -> list[str]:
        """sarlign writes Cloud-Optimized GeoTIFFs."""
        return ["tif"]
