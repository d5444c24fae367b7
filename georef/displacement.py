"""The local field as a product: the displacement a richer model applies, sampled on a coarse reference grid.

A node sits at the centre of a ``step``-px cell of the reference grid (pixel corners at integers, so node
(i, j) is at reference pixel ((i + ½)·step, (j + ½)·step)). Its values, in the reference CRS's units:

- ``dx``, ``dy``: where the content the SAR shows at the node truly lies, minus the node (east and north
  in map units: metres for a projected CRS; the model's own, affine included, is what the output's GCPs
  carry);
- ``sigma``: the field's standard deviation there (per axis, the kriging standard deviation, see
  :mod:`sarlign.georef.kriging`, from at most ``SIGMA_POINTS`` of the tie points: an upper bound; not
  estimated for a polynomial: nodata).

Nodes beyond the tie points' convex hull, where the model fades to its affine and no tie point says
anything, are nodata (NaN).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
import shapely
from affine import Affine
from rasterio.crs import CRS
from rasterio.io import MemoryFile

from sarlign.coords import map_points
from sarlign.georef.kriging import KrigedField
from sarlign.georef.smooth_models import SupportedModel

MIN_STEP_PX = 8  # reference pixels per node at least
MAX_NODES = 256  # nodes along the longer side at most (a 10980² scene: 43 px a node, a sixth of the
# shortest field a template grid resolves); the prediction costs nodes × tie points
SIGMA_POINTS = 800  # the standard deviation costs nodes × tie points², so it is kriged from this many
BANDS = ("dx", "dy", "sigma")


@dataclass(frozen=True)
class DisplacementGrid:
    """(3, rows, cols) float32 ``values`` (dx, dy, sigma in CRS units; NaN beyond the support) on the grid
    ``transform`` (pixel corners) in ``crs``; ``step`` reference pixels a node."""

    values: np.ndarray
    transform: Affine
    crs: CRS
    step: int

    def summary(self) -> dict[str, float | None]:
        """Median and largest ``sigma`` and the largest displacement length within the support (CRS units)."""
        sigma = self.values[2][np.isfinite(self.values[2])]
        length = np.hypot(self.values[0], self.values[1])
        length = length[np.isfinite(length)]
        return {
            "sigma_median": float(np.median(sigma)) if len(sigma) else None,
            "sigma_max": float(sigma.max()) if len(sigma) else None,
            "displacement_max": float(length.max()) if len(length) else None,
        }


def sample_displacement(
    model: SupportedModel, reference_transform: Affine, reference_crs: CRS, size: tuple[int, int]
) -> DisplacementGrid:
    """``model`` (SAR grid → reference pixels) sampled over a reference grid of ``size`` (width, height)."""
    width, height = size
    step = max(MIN_STEP_PX, math.ceil(max(width, height) / MAX_NODES))
    cols, rows = math.ceil(width / step), math.ceil(height / step)
    x, y = np.meshgrid((np.arange(cols) + 0.5) * step, (np.arange(rows) + 0.5) * step)
    nodes = np.column_stack([x.ravel(), y.ravel()])
    inside = shapely.contains_xy(model.support, nodes[:, 0], nodes[:, 1])
    values = np.full((3, len(nodes)), np.nan, np.float32)
    at = nodes[inside]
    moved = map_points(reference_transform, model(at)) - map_points(reference_transform, at)
    values[0, inside], values[1, inside] = moved[:, 0], moved[:, 1]
    if isinstance(model.inner, KrigedField):
        pixel = math.sqrt(abs(reference_transform.determinant))  # CRS units per reference pixel
        values[2, inside] = model.inner.thinned(SIGMA_POINTS).standard_deviation(at) * pixel
    return DisplacementGrid(values.reshape(3, rows, cols), reference_transform @ Affine.scale(step), reference_crs, step)


def write_displacement_cog(grid: DisplacementGrid, destination: Path) -> None:
    """``grid`` as a three-band float32 COG (bands named dx, dy, sigma; nodata NaN; DEFLATE)."""
    _, rows, cols = grid.values.shape
    profile = dict(driver="GTiff", width=cols, height=rows, count=3, dtype="float32", crs=grid.crs,
                   transform=grid.transform, nodata=math.nan)
    with MemoryFile() as memory:
        with memory.open(**profile) as dataset:
            dataset.write(grid.values)
            dataset.descriptions = BANDS
            units = grid.crs.linear_units if grid.crs.is_projected else "degree"
            for band in range(1, 4):
                dataset.set_band_unit(band, units)
            dataset.update_tags(step_px=str(grid.step), convention=(
                "dx, dy: where the content the input SAR shows at a pixel truly lies, minus that pixel, east and "
                "north in CRS units; sigma: the local field's standard deviation per axis"))
        with memory.open() as dataset:
            rasterio.shutil.copy(dataset, str(destination), driver="COG", COMPRESS="DEFLATE", PREDICTOR="YES")
