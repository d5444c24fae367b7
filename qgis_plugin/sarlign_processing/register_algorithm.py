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
    QgsProcessingOutputRasterLayer,
    QgsProcessingOutputVectorLayer,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterFile,
    QgsProcessingParameterNumber,
    QgsProcessingParameterRasterDestination,
    QgsProcessingParameterRasterLayer,
    QgsProcessingParameterString,
    QgsProcessingUtils,
)

from .algorithm import EXECUTABLE_HELP, SarlignAlgorithm
from .runner import run_sarlign

GEOPACKAGE_LAYERS = ("tie_points", "tiles")  # the layers of sarlign's NAME.gpkg
# Sentinel products as downloaded (zips) and the metadata files of unpacked ones.
PRODUCT_FILTER = "Sentinel products (*.zip *.ZIP MTD_MSIL1C.xml MTD_MSIL2A.xml manifest.safe);;All files (*)"


class RegisterAlgorithm(SarlignAlgorithm):
    """Runs ``sarlign register``: the SAR with a corrected geotransform, its tie points and a report."""

    REFERENCE = "REFERENCE"
    SAR = "SAR"
    REFERENCE_PRODUCT = "REFERENCE_PRODUCT"
    SAR_PRODUCT = "SAR_PRODUCT"
    REFERENCE_BANDS = "REFERENCE_BANDS"
    SAR_BAND = "SAR_BAND"
    RESAMPLE = "RESAMPLE"
    QUICKLOOK = "QUICKLOOK"
    MAX_SHIFT = "MAX_SHIFT"
    OUTPUT = "OUTPUT"
    TIE_POINTS = "TIE_POINTS"
    REPORT = "REPORT"
    DISPLACEMENT = "DISPLACEMENT"

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
            "Each input is a raster layer or, instead, a Sentinel product file as downloaded: a Sentinel-2 "
            "L1C/L2A .zip or its MTD_MSIL1C.xml/MTD_MSIL2A.xml, a Sentinel-1 GRD .zip or its manifest.safe. "
            "Bands are picked by number or name (B08, B04,B03,B02; VV, VH); the defaults are B8 and VV.\n\n"
            + EXECUTABLE_HELP
        )

    def initAlgorithm(self, config: Any = None) -> None:
        self.addParameter(
            QgsProcessingParameterRasterLayer(self.REFERENCE, "Optical reference (e.g. Sentinel-2)", optional=True)
        )
        self.addParameter(
            QgsProcessingParameterFile(self.REFERENCE_PRODUCT, "… or a Sentinel-2 product", optional=True,
                                       fileFilter=PRODUCT_FILTER)
        )
        self.addParameter(QgsProcessingParameterRasterLayer(self.SAR, "SAR to register (e.g. Sentinel-1)", optional=True))
        self.addParameter(
            QgsProcessingParameterFile(self.SAR_PRODUCT, "… or a Sentinel-1 GRD product", optional=True,
                                       fileFilter=PRODUCT_FILTER)
        )
        for name, label in (
            (self.REFERENCE_BANDS, "Reference bands, by number or name (e.g. B08 or B04,B03,B02)"),
            (self.SAR_BAND, "SAR band, by number or name (e.g. VV)"),
        ):
            bands = QgsProcessingParameterString(name, label, optional=True)
            bands.setFlags(bands.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
            self.addParameter(bands)
        self.addMatcherParameters()
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.RESAMPLE, "Also write the SAR resampled onto the reference grid (NAME_resampled.tif)", False
            )
        )
        self.addParameter(
            QgsProcessingParameterBoolean(
                self.QUICKLOOK, "Also write PNG quicklooks (checkerboard before/after, residual map, field map)", False
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
        self.addOutput(QgsProcessingOutputRasterLayer(self.DISPLACEMENT, "Displacement field (richer transforms)"))

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
        for option, parameter in (("--reference-bands", self.REFERENCE_BANDS), ("--sar-band", self.SAR_BAND)):
            bands = self.parameterAsString(parameters, parameter, context).strip()
            if bands:
                arguments.append(f"{option}={bands}")
        inputs = [
            self._input(parameters, self.REFERENCE, self.REFERENCE_PRODUCT, context),
            self._input(parameters, self.SAR, self.SAR_PRODUCT, context),
        ]
        run = run_sarlign(arguments, inputs, feedback, "tiles")
        if run.returncode:
            raise run.failure()
        report = Path(output).with_suffix(".json")  # sarlign's NAME.json beside NAME.tif
        written = json.loads(report.read_text(encoding="utf-8"))["outputs"]
        extra = {name: written[name] for name in ("resampled", "displacement") if name in written}
        self._loadWithRaster(output, written["tie_points"], extra, context)
        geopackage = written["tie_points"]
        results = {self.OUTPUT: output, self.TIE_POINTS: _layer_uri(geopackage, "tie_points"), self.REPORT: str(report)}
        if "displacement" in written:
            results[self.DISPLACEMENT] = written["displacement"]
        return results

    def _input(self, parameters: dict[str, Any], layer: str, product: str, context: QgsProcessingContext) -> str:
        """The location sarlign reads for one input: the product file if one is given, else the layer's."""
        product_path = self.parameterAsFile(parameters, product, context)
        if product_path and parameters.get(layer):
            raise QgsProcessingException(f"give {layer} or {product}, not both")
        if product_path:
            return product_path
        if not parameters.get(layer):
            raise QgsProcessingException(f"{layer}: give a raster layer, or a product file as {product}")
        return self._rasterFile(parameters, layer, context)

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

    def _loadWithRaster(
        self, raster: str, geopackage: str, extra: dict[str, str], context: QgsProcessingContext
    ) -> None:
        """When the output raster is to be loaded into a project (the GUI's 'Open output file'), load the
        GeoPackage's tie_points and tiles layers with it, and the ``extra`` rasters written (by output
        name): the resampled raster (a richer model's output carries GCPs that QGIS reads with a
        polynomial; the resampled raster shows the model as it is) and a richer model's displacement."""
        if not context.willLoadLayerOnCompletion(raster):
            return
        project = context.layerToLoadOnCompletionDetails(raster).project
        for name, path in extra.items():
            details = QgsProcessingContext.LayerDetails(f"{Path(raster).stem} {name}", project, name)
            details.layerTypeHint = QgsProcessingUtils.LayerHint.Raster
            context.addLayerToLoadOnCompletion(path, details)
        for layer in GEOPACKAGE_LAYERS:
            details = QgsProcessingContext.LayerDetails(f"{Path(raster).stem} {layer}", project, layer)
            details.layerTypeHint = QgsProcessingUtils.LayerHint.Vector
            context.addLayerToLoadOnCompletion(_layer_uri(geopackage, layer), details)


def _layer_uri(geopackage: str, layer: str) -> str:
    """The OGR URI of one layer of a GeoPackage."""
    return f"{geopackage}|layername={layer}"
