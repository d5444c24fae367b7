"""Default QGIS styles for the tie-point GeoPackage, stored in its ``layer_styles`` table.

QGIS applies a layer's row with ``useAsDefault`` as soon as the layer is loaded from the file. The table
and its gpkg_contents entry (an ``attributes`` table) are laid out as QGIS 3.22 itself writes them
(``QgsVectorLayer.saveStyleToDatabase``); the styles are the QML templates in ``qml/``.

The tie-point style draws each point's residual vector (fields ``residual_dx``, ``residual_dy``: fit
prediction minus truth, in map units of the layer's CRS) as an arrow from the point, lengthened by an
exaggeration factor chosen when the file is written and stated in the style's description.
"""

from __future__ import annotations

import math
import sqlite3
from contextlib import closing
from importlib.resources import files
from pathlib import Path

import numpy as np

from sarlign.georef.tiepoints import TIE_POINT_LAYER, TILE_LAYER

EXAGGERATION_TOKEN = "__EXAGGERATION__"
ARROW_SHARE = 0.03  # a typical residual arrow spans about this share of the scene's diagonal

_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS "layer_styles" (
  "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, "f_table_catalog" TEXT(256), "f_table_schema" TEXT(256),
  "f_table_name" TEXT(256), "f_geometry_column" TEXT(256), "styleName" TEXT(30), "styleQML" TEXT,
  "styleSLD" TEXT, "useAsDefault" BOOLEAN, "description" TEXT, "owner" TEXT(30), "ui" TEXT(30),
  "update_time" DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))
"""
_REGISTER_TABLE = """
INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, srs_id)
VALUES ('layer_styles', 'attributes', 'layer_styles', 0)
"""
_INSERT_STYLE = """
INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName,
                          styleQML, styleSLD, useAsDefault, description, owner)
VALUES ('', '', ?, ?, ?, ?, '', 1, ?, '')
"""


def arrow_exaggeration(residual_lengths: np.ndarray, bounds: tuple[float, float, float, float]) -> float:
    """How many times to lengthen residual arrows so that a typical one (the median of
    ``residual_lengths``) spans about ``ARROW_SHARE`` of the diagonal of ``bounds`` (x0, y0, x1, y1: the
    scene, in the same units as the lengths, e.g. reference-grid pixels).

    Rounded down to 1, 2 or 5 times a power of ten so the stated factor reads plainly; 1 when the
    residuals are all zero (or there are none), and never below 1.
    """
    typical = float(np.median(residual_lengths)) if len(residual_lengths) else 0.0
    if not typical > 0:
        return 1.0
    wanted = ARROW_SHARE * math.hypot(bounds[2] - bounds[0], bounds[3] - bounds[1]) / typical
    if wanted <= 1:
        return 1.0
    power = 10.0 ** math.floor(math.log10(wanted))
    return max(step * power for step in (1, 2, 5) if step * power <= wanted)


def write_default_styles(gpkg: Path, exaggeration: float) -> None:
    """Store the default styles of the tie-point and tile layers in ``gpkg`` (written already), the
    tie-point arrows lengthened ``exaggeration`` times."""
    factor = f"{exaggeration:.10g}"  # plain digits (no exponent) for the QGIS expression
    styles = {
        TIE_POINT_LAYER: (
            _template("tie_points").replace(EXAGGERATION_TOKEN, factor),
            f"sarlign: inliers blue, outliers red; arrows are residual vectors (fit prediction minus "
            f"truth) drawn {factor} times their true length",
        ),
        TILE_LAYER: (_template("tiles"), "sarlign: tiles coloured by status"),
    }
    with closing(sqlite3.connect(gpkg)) as db, db:  # commit, then close
        geometry_columns = dict(db.execute("SELECT table_name, column_name FROM gpkg_geometry_columns"))
        db.execute(_CREATE_TABLE)
        db.execute(_REGISTER_TABLE)
        for layer, (qml, description) in styles.items():
            db.execute(_INSERT_STYLE, (layer, geometry_columns[layer], layer, qml, description))


def _template(name: str) -> str:
    """The QML template ``qml/<name>.qml`` shipped with this package."""
    return (files("sarlign.georef") / "qml" / f"{name}.qml").read_text(encoding="utf-8")
