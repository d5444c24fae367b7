"""Look at the plugin's work from inside QGIS: run by the Python that PyQGIS belongs to, headless.

    python3 pyqgis_probe.py layers URI...
        Open each URI (``PATH|layername=NAME``: a vector layer; else a raster) and print, as JSON by URI: valid,
        crs (authid), extent [xmin, ymin, xmax, ymax]; for vector layers also the renderer QGIS gave the
        layer, the renderer of the source's default style (null without one) and how many of the source's
        stored styles belong to the layer; for rasters their band count and each band's value at the
        centre of the middle pixel (row height // 2, column width // 2).
    python3 pyqgis_probe.py load PARAMETERS_JSON
        Run sarlign:register with OUTPUT to be loaded into the project (as the Processing dialog does) and
        print the layers the algorithm asks Processing to load on completion: {source: [name, output name]}.
    python3 pyqgis_probe.py cancel PARAMETERS_JSON
        Run sarlign:register, cancel it at its first progress report, and print the error it ended with, the
        seconds from cancel to end, sarlign's process id, and the processes of its session (sarlign leads one
        of its own, with its Dask workers) at the cancel and still alive afterwards.

The plugin is loaded the way QGIS loads plugins, from the profile of QGIS_CUSTOM_CONFIG_PATH (enabled there).
"""

from __future__ import annotations

import json
import os
import sys
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

from qgis.core import (
    QgsApplication,
    QgsPointXY,
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputLayerDefinition,
    QgsProject,
    QgsProviderRegistry,
    QgsRasterLayer,
    QgsVectorLayer,
)


def describe(uri: str) -> dict:
    """What QGIS makes of one layer source."""
    vector = "|layername=" in uri
    layer = QgsVectorLayer(uri, "probe", "ogr") if vector else QgsRasterLayer(uri, "probe", "gdal")
    extent = layer.extent()
    facts = {
        "valid": layer.isValid(),
        "crs": layer.crs().authid(),
        "extent": [extent.xMinimum(), extent.yMinimum(), extent.xMaximum(), extent.yMaximum()],
    }
    if vector:
        default_style = QgsProviderRegistry.instance().loadStyle("ogr", uri, "")
        renderer = ElementTree.fromstring(default_style).find("renderer-v2") if default_style else None
        facts["renderer"] = layer.renderer().type()
        facts["default_style_renderer"] = renderer.get("type") if renderer is not None else None
        facts["styles_of_layer"] = layer.listStylesInDatabase()[0]
    else:  # the centre of the middle pixel (row height // 2, column width // 2)
        centre = QgsPointXY(extent.xMinimum() + (layer.width() // 2 + 0.5) * layer.rasterUnitsPerPixelX(),
                            extent.yMaximum() - (layer.height() // 2 + 0.5) * layer.rasterUnitsPerPixelY())
        facts["bands"] = layer.bandCount()
        facts["centre_values"] = [layer.dataProvider().sample(centre, band)[0] for band in range(1, layer.bandCount() + 1)]
    return facts


def start_plugin() -> None:
    """Processing (QGIS's own plugin), then the plugin, as qgis_process starts them."""
    profile_plugins = str(Path(QgsApplication.qgisSettingsDirPath()) / "python" / "plugins")
    sys.path += [str(Path(QgsApplication.pkgDataPath()) / "python" / "plugins"), profile_plugins]
    from processing.core.Processing import Processing
    from qgis import utils

    Processing.initialize()
    utils.plugin_paths.insert(0, profile_plugins)
    utils.updateAvailablePlugins()
    if not (utils.loadPlugin("sarlign_processing") and utils.startProcessingPlugin("sarlign_processing")):
        raise SystemExit("the sarlign_processing plugin did not start")


def load(parameters: dict) -> dict:
    """Run register with its output bound for the project; the layers it asks to load on completion."""
    import processing

    parameters["OUTPUT"] = QgsProcessingOutputLayerDefinition(parameters["OUTPUT"], QgsProject.instance())
    context = QgsProcessingContext()
    context.setProject(QgsProject.instance())
    processing.run("sarlign:register", parameters, context=context, feedback=QgsProcessingFeedback())
    return {
        source: [details.name, details.outputName] for source, details in context.layersToLoadOnCompletion().items()
    }


def processes() -> list[tuple[int, str, int, int]]:
    """(pid, state, parent pid, session) of every process (Linux /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended while listed
        found.append((int(stat.parent.name), fields[0], int(fields[1]), int(fields[3])))
    return found


def session(leader: int) -> list[int]:
    """The live processes of the session ``leader`` leads."""
    return [pid for pid, state, _, sid in processes() if sid == leader and state != "Z"]


def cancel(parameters: dict) -> dict:
    """Run register and cancel it at its first progress report."""
    import processing

    feedback = QgsProcessingFeedback()
    seen: dict = {}

    def on_progress(progress: float) -> None:
        if not seen:
            (sarlign,) = [pid for pid, _, parent, _ in processes() if parent == os.getpid()]
            seen.update(sarlign=sarlign, session_at_cancel=session(sarlign), cancelled_at=time.monotonic())
            feedback.cancel()

    feedback.progressChanged.connect(on_progress)
    try:
        processing.run("sarlign:register", parameters, feedback=feedback)
        error = None
    except QgsProcessingException as exc:
        error = str(exc)
    return {
        "error": error,
        "seconds_to_stop": time.monotonic() - seen["cancelled_at"],
        "sarlign": seen["sarlign"],
        "session_at_cancel": seen["session_at_cancel"],
        "left_alive": session(seen["sarlign"]),
    }


def main(mode: str, *arguments: str) -> None:
    app = QgsApplication([], False)
    app.initQgis()
    if mode == "layers":
        result = {uri: describe(uri) for uri in arguments}
    else:
        start_plugin()
        result = {"load": load, "cancel": cancel}[mode](json.loads(arguments[0]))
    print(json.dumps(result))
    app.exitQgis()


if __name__ == "__main__":
    main(*sys.argv[1:])
