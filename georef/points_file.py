"""The inlier tie points as ground control points for QGIS's Georeferencer (a ``.points`` file).

The format is the one QGIS 3.22 reads and writes (``QgsGCPList::loadGcps``/``saveGcps``): a first line
``#CRS: <WKT>`` naming the CRS of the map coordinates, the header line
``mapX,mapY,sourceX,sourceY,enable,dX,dY,residual``, then one comma-separated line per point.
``sourceX, sourceY`` are the raster's pixel position with rows negated (QGIS's pixel space is y-up):
``sourceX = column``, ``sourceY = -row``, pixel corners at integers (GDAL's convention), so the
point becomes GDAL's GCP (pixel=sourceX, line=-sourceY). ``dX, dY, residual`` are written as 0: QGIS
recomputes them for the transformation chosen in the Georeferencer.

Here the raster is the SAR (the input or the co-registered output: their pixels are the same), the
source position is where the SAR shows each feature, and the map position is where the feature truly
is, in the SAR's CRS.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
from affine import Affine
from rasterio.crs import CRS

from sarlign.georef.fit import GlobalFit, TiePoints, locate_in_sar

HEADER = "mapX,mapY,sourceX,sourceY,enable,dX,dY,residual"


def write_points_file(
    destination: Path,
    ties: TiePoints,
    fit: GlobalFit,
    reference_transform: Affine,
    reference_crs: CRS,
    sar_crs: CRS,
    sar_map_to_pixel: Callable[[np.ndarray], np.ndarray],
) -> None:
    """Write the fit's inlier tie points as a Georeferencer ``.points`` file at ``destination``.

    ``sar_map_to_pixel`` maps (N, 2) map (x, y) in ``sar_crs`` to SAR pixels (x=column, y=row, corners at
    integers) under the SAR's current georeferencing (see ``locate_in_sar``).
    """
    inliers = fit.inliers
    sar_px, truth = locate_in_sar(
        ties.sar_grid_xy[inliers], ties.reference_xy[inliers], reference_transform, reference_crs, sar_crs, sar_map_to_pixel
    )
    lines = [f"#CRS: {sar_crs.to_wkt()}", HEADER]
    lines += [f"{x!r},{y!r},{col!r},{-row!r},1,0,0,0" for (x, y), (col, row) in zip(truth.tolist(), sar_px.tolist())]
    destination.write_text("\n".join(lines) + "\n", encoding="utf-8")
