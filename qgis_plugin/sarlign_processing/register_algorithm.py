"""``sarlign:register``: register one SAR raster to an optical reference."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingUtils,
)

from .algorithm import EXECUTABLE_HELP, SarlignAlgorithm
from .runner import run_sarlign

GEOPACKAGE_LAYERS = ("tie_points", "tiles")  # the layers of sarlign's NAME.gpkg


class RegisterAlgorithm(SarlignAlgorithm):
    """Runs ``sarlign register``: the SAR with a corrected geotransform, its tie points and a report."""

    REFERENCE = "REFERENCE"
    SAR = "SAR"
    RESAMPLE = "RESAMPLE"
    QUICKLOOK = "QUICKLOOK"
    MAX_SHIFT = "MAX_SHIFT"
    OUTPUT = "OUTPUT"
    TIE_POINTS = "TIE_POINTS"
    REPORT = "REPORT"

    def name(self) -> str:
        return "register"

    def displayName(self) -> str:
        return "Register SAR to optical"

    def shortHelpString(self) -> str:
        return (
            "Co-registers a SAR raster (e.g. Sentinel-1) to an optical reference (e.g. Sentinel-2) with sarlign: "
            "tiles of the overlap are matched, one global transform is fitted robustly, and the SAR is written "
            "as a Cloud-Optimized GeoTIFF with a corrected geotransform (pixels untouched).\n\n"
            "Beside the output raster NAME.tif, sarlign writes NAME.json (the report), NAME.gpkg (layers "
            "tie_points and tiles, loaded with the raster) and its other outputs; existing files of those "
            "names are replaced. A fit that is not trustworthy is refused, and nothing is written.\n\n"
            + EXECUTABLE_HELP
        )

    def initAlgorithm(self, config: Any = None) -> None:
        self.addParameter(QgsProcessingParameterRasterLayer(self.REFERENCE, "Optical reference (e.g. Sentinel-2)"))
        self.addParameter(QgsProcessingParameterRasterLayer(self.SAR, "SAR to register (e.g. Sentinel-1)"))
        self.addMatcherParameters()
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.RESAMPLE, "Also write the SAR resampled onto the reference grid (NAME_resampled.tif)", False
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.QUICKLOOK, "Also write PNG quicklooks (checkerboard before/after, residual map)", False
            )
        )
        max_shift = QgsProcessingParameterNumber(
            self.MAX_SHIFT,
            "Largest misregistration searched for (reference pixels)",
            type=QgsProcessingParameterNumber.Integer,
            defaultValue=40,
            minValue=1,
        )
        max_shift.setFlags(max_shift.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(max_shift)
        self.addWorkersParameter()
        self.addParameter(QgsProcessingParameterRasterDestination(self.OUTPUT, "Co-registered SAR"))
        self.addOutput(QgsProcessingOutputVectorLayer(self.TIE_POINTS, "Tie points"))
        self.addOutput(QgsProcessingOutputFile(self.REPORT, "Report (JSON)"))

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        output = self.parameterAsOutputLayer(parameters, self.OUTPUT, context)
        Path(output).parent.mkdir(parents=True, exist_ok=True)
        arguments = [
            "register",
            f"--output={output}",
            "--overwrite",  # Processing has already asked before replacing a chosen destination
            f"--max-shift={self.parameterAsInt(parameters, self.MAX_SHIFT, context)}",
            *self.matcherArguments(parameters, context),
        ]
        for flag, parameter in (("--resample", self.RESAMPLE), ("--quicklook", self.QUICKLOOK)):
            if self.parameterAsBoolean(parameters, parameter, context):
                arguments.append(flag)
        inputs = [self._rasterFile(parameters, self.REFERENCE, context), self._rasterFile(parameters, self.SAR, context)]
        run = run_sarlign(arguments, inputs, feedback, "tiles")
        if run.returncode:
            raise run.failure()
        report = Path(output).with_suffix(".json")  # sarlign's NAME.json beside NAME.tif
        geopackage = json.loads(report.read_text(encoding="utf-8"))["outputs"]["tie_points"]
        self._loadWithRaster(output, geopackage, context)
        return {self.OUTPUT: output, self.TIE_POINTS: _layer_uri(geopackage, "tie_points"), self.REPORT: str(report)}

    def _rasterFile(self, parameters: dict[str, Any], name: str, context: QgsProcessingContext) -> str:
        """The GDAL dataset behind raster parameter ``name`` (sarlign reads its inputs through GDAL)."""
        layer = self.parameterAsRasterLayer(parameters, name, context)
        if layer is None:
            raise QgsProcessingException(self.invalidRasterError(parameters, name))
        if layer.providerType() != "gdal":
            raise QgsProcessingException(
                f"{name}: layer {layer.name()!r} comes from the {layer.providerType()!r} data provider; "
                "sarlign reads raster files (anything GDAL opens)"
            )
        return layer.source()

    def _loadWithRaster(self, raster: str, geopackage: str, context: QgsProcessingContext) -> None:
        """When the output raster is to be loaded into a project (the GUI's 'Open output file'), load the
        GeoPackage's tie_points and tiles layers with it."""
        if not context.willLoadLayerOnCompletion(raster):
            return
        project = context.layerToLoadOnCompletionDetails(raster).project
        for layer in GEOPACKAGE_LAYERS:
            details = QgsProcessingContext.LayerDetails(f"{Path(raster).stem} {layer}", project, layer)
            details.layerTypeHint = QgsProcessingUtils.LayerHint.Vector
            context.addLayerToLoadOnCompletion(_layer_uri(geopackage, layer), details)


def _layer_uri(geopackage: str, layer: str) -> str:
    """The OGR URI of one layer of a GeoPackage."""
    return f"{geopackage}|layername={layer}"
