"""The QGIS Georeferencer ``.points`` file: its format, and that its GCPs reproduce the corrected
geotransform the registration wrote."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from rasterio.transform import from_gcps

from sarlign.coords import map_points
from sarlign.georef.points_file import HEADER


def _parse(path) -> tuple[str, str, np.ndarray]:
    """The file's CRS WKT, its header line and its rows (N, 8) as floats."""
    first, header, *rows = path.read_text(encoding="utf-8").splitlines()
    assert first.startswith("#CRS: ")
    return first.removeprefix("#CRS: "), header, np.array([[float(v) for v in row.split(",")] for row in rows])


def test_format_as_qgis_reads_it(volkov_registration):
    wkt, header, rows = _parse(volkov_registration["outputs"].points)
    assert header == HEADER == "mapX,mapY,sourceX,sourceY,enable,dX,dY,residual"
    with rasterio.open(volkov_registration["sar"]) as sar:
        assert CRS.from_wkt(wkt) == sar.crs
        width, height = sar.width, sar.height
    assert rows.shape == (volkov_registration["report"]["quality"]["inliers"], 8)  # one GCP per inlier
    assert np.all(rows[:, 4] == 1) and np.all(rows[:, 5:] == 0)
    # Source positions are SAR pixels with rows negated: inside the image, y ≤ 0.
    assert np.all((0 <= rows[:, 2]) & (rows[:, 2] <= width))
    assert np.all((-height <= rows[:, 3]) & (rows[:, 3] <= 0))


def test_gcps_reproduce_the_corrected_geotransform(volkov_registration):
    """GDAL GCPs (pixel = sourceX, line = −sourceY) fitted to an affine map the SAR's pixels to within
    a hundredth of a pixel of the output COG's geotransform."""
    _, _, rows = _parse(volkov_registration["outputs"].points)
    gcps = [GroundControlPoint(row=-sy, col=sx, x=mx, y=my) for mx, my, sx, sy in rows[:, :4]]
    from_points = from_gcps(gcps)
    with rasterio.open(volkov_registration["outputs"].raster) as cog:
        written, width, height = cog.transform, cog.width, cog.height
    pixels = np.array([[x, y] for x in np.linspace(0, width, 5) for y in np.linspace(0, height, 5)])
    apart_px = np.hypot(*(map_points(from_points, pixels) - map_points(written, pixels)).T) / abs(written.a)
    assert apart_px.max() < 0.01
    # And it is not the SAR's shifted georeferencing that they reproduce.
    with rasterio.open(volkov_registration["sar"]) as sar:
        assert np.hypot(*(map_points(sar.transform, pixels) - map_points(written, pixels)).T).min() > 5 * abs(written.a)


QGIS_CRS = """
from qgis.core import QgsCoordinateReferenceSystem
with open(sys.argv[1], encoding="utf-8") as points:
    line = points.readline().rstrip("\\n")
crs = QgsCoordinateReferenceSystem(line.replace("#CRS: ", ""))  # as QgsGCPList::loadGcps reads it
result = {"valid": crs.isValid(), "authid": crs.authid()}
"""


def test_qgis_understands_the_crs_line(volkov_registration, qgis):
    crs = qgis(QGIS_CRS, volkov_registration["outputs"].points)
    assert crs == {"valid": True, "authid": "EPSG:3395"}
