"""Default QGIS styles in the tie-point GeoPackage: stored the way QGIS stores them, applied by QGIS itself
when it loads the layers, and the residual-vector fields the arrows are drawn from."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing

import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyogrio.raw import read

from sarlign.georef.styles import ARROW_SHARE, arrow_exaggeration
from sarlign.georef.tiepoints import TIE_POINT_LAYER, TILE_LAYER


def _tie_points(gpkg) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The tie-point layer's point coordinates (N, 2) and its fields by name."""
    meta, _, geometry, fields = read(gpkg, layer=TIE_POINT_LAYER)
    return shapely.get_coordinates(shapely.from_wkb(geometry)), dict(zip(meta["fields"], fields))


def _styles(gpkg) -> dict[str, dict]:
    with closing(sqlite3.connect(gpkg)) as db:
        db.row_factory = sqlite3.Row
        return {row["f_table_name"]: dict(row) for row in db.execute("SELECT * FROM layer_styles")}


# --- the exaggeration factor ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "lengths, expected",
    [
        ([0.5, 0.4, 0.6], 50.0),  # 3% of a 1000 × 1000 scene's diagonal is 42.4: 84.9 × 0.5 → 50
        ([2.0, 2.0], 20.0),  # 21.2 → 20
        ([0.1], 200.0),  # 424 → 200
        ([100.0], 1.0),  # already longer than wanted: drawn at true length
        ([0.0, 0.0], 1.0),  # a perfect fit has nothing to draw
        ([], 1.0),
    ],
)
def test_exaggeration_is_a_plain_number_that_makes_typical_arrows_visible(lengths, expected):
    assert arrow_exaggeration(np.array(lengths), (0, 0, 1000, 1000)) == expected


def test_exaggerated_typical_arrow_spans_between_a_fifth_of_and_the_wanted_share():
    rng = np.random.default_rng(1)
    for typical in rng.uniform(1e-3, 50, 200):
        factor = arrow_exaggeration(np.array([typical]), (0, 0, 3000, 4000))  # diagonal 5000
        assert 0.4 * ARROW_SHARE * 5000 < factor * typical <= ARROW_SHARE * 5000 + 1e-9


# --- after a real registration ------------------------------------------------------------------------


def test_both_layers_have_a_default_style_stored_as_qgis_stores_it(volkov_registration):
    gpkg = volkov_registration["outputs"].tie_points
    styles = _styles(gpkg)
    assert set(styles) == {TIE_POINT_LAYER, TILE_LAYER}
    for layer, style in styles.items():
        assert style["useAsDefault"] == 1 and style["f_geometry_column"] == "geom"
        assert style["f_table_catalog"] == "" and style["f_table_schema"] == ""
        assert style["styleQML"].lstrip().startswith("<!DOCTYPE qgis")
        assert "__EXAGGERATION__" not in style["styleQML"]
    with closing(sqlite3.connect(gpkg)) as db:
        assert db.execute("SELECT data_type FROM gpkg_contents WHERE table_name = 'layer_styles'").fetchone() == (
            "attributes",
        )
    # The description states the factor the QML draws the arrows with.
    points = styles[TIE_POINT_LAYER]
    stated = float(re.search(r"drawn (\S+) times", points["description"]).group(1))
    assert f"translate($geometry, {stated:.10g} * &quot;residual_dx&quot;" in points["styleQML"]
    assert stated > 1  # sub-pixel residuals on a 10 km scene need lengthening to be seen


def test_residual_vectors_have_the_residual_lengths(volkov_registration):
    """residual_dx/dy (map units) are residual_px reference pixels long: each component scaled by the
    pixel size along its axis (the north-up reference's pixels are 10.000277 × 10.000157 m, so one size
    for both would be off by 1e-5)."""
    with rasterio.open(volkov_registration["reference"]) as reference:
        transform = reference.transform
    assert transform.b == transform.d == 0
    _, fields = _tie_points(volkov_registration["outputs"].tie_points)
    lengths_px = np.hypot(fields["residual_dx"] / transform.a, fields["residual_dy"] / transform.e)
    np.testing.assert_allclose(lengths_px, fields["residual_px"], rtol=1e-6, atol=0)
    np.testing.assert_allclose(np.hypot(fields["residual_dx"], fields["residual_dy"]), fields["residual_px"] * 10, rtol=3e-5)


def test_residual_vectors_point_from_the_truth_to_the_fit_prediction(volkov_registration):
    """Each vector is the correction (a map → map affine) applied to where the SAR showed the point,
    minus the point's true position."""
    truth, fields = _tie_points(volkov_registration["outputs"].tie_points)
    correction = Affine(*volkov_registration["report"]["correction"]["map_affine"])
    predicted = np.column_stack(correction @ (fields["sar_map_x"], fields["sar_map_y"]))
    np.testing.assert_allclose(np.column_stack([fields["residual_dx"], fields["residual_dy"]]), predicted - truth, atol=1e-6)


QGIS_LOAD = """
from qgis.core import QgsRenderContext, QgsVectorLayer
result = {}
for name in ("tie_points", "tiles"):
    layer = QgsVectorLayer(sys.argv[1] + "|layername=" + name, name, "ogr")
    renderer = layer.renderer()
    context = QgsRenderContext()
    renderer.startRender(context, layer.fields())
    drawn = sum(renderer.symbolForFeature(feature, context) is not None for feature in layer.getFeatures())
    renderer.stopRender(context)
    result[name] = {
        "valid": layer.isValid(),
        "renderer": renderer.type(),
        "attribute": renderer.classAttribute(),
        "categories": [
            {
                "value": str(category.value()),
                "colour": category.symbol().color().name(),
                "layers": [
                    [symbol_layer.layerType(), symbol_layer.subSymbol().symbolLayer(0).layerType() if symbol_layer.subSymbol() else None]
                    for symbol_layer in category.symbol().symbolLayers()
                ],
            }
            for category in renderer.categories()
        ],
        "features": layer.featureCount(),
        "drawn": drawn,
    }
"""


def test_qgis_loads_both_layers_with_their_default_style(volkov_registration, qgis):
    loaded = qgis(QGIS_LOAD, volkov_registration["outputs"].tie_points)
    report = volkov_registration["report"]
    points, tiles = loaded[TIE_POINT_LAYER], loaded[TILE_LAYER]
    assert points["valid"] and tiles["valid"]
    # Tie points: inliers and outliers apart, each with an arrow drawn by a geometry generator.
    assert (points["renderer"], points["attribute"]) == ("categorizedSymbol", "inlier")
    assert [c["value"] for c in points["categories"]] == ["true", "false"]
    assert len({c["colour"] for c in points["categories"]}) == 2
    for category in points["categories"]:
        assert ["GeometryGenerator", "ArrowLine"] in category["layers"]
    assert points["features"] == points["drawn"] == report["quality"]["tie_points"]
    # Tiles: one colour per status, every tile drawn.
    assert (tiles["renderer"], tiles["attribute"]) == ("categorizedSymbol", "status")
    assert {c["value"] for c in tiles["categories"]} == {"matched", "screened", "no_match", "outside"}
    assert tiles["features"] == tiles["drawn"] == report["tiles"]["total"]
