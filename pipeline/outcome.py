"""What one registration produced before anything is written, and its per-tile table."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS

from sarlign.coords import map_points
from sarlign.georef.displacement import DisplacementGrid, sample_displacement
from sarlign.georef.fit import GlobalFit, TiePoints, residual_vectors_px
from sarlign.georef.gcps import corrected_gcps, field_gcps, gcp_nodes
from sarlign.georef.kriging import noise_weights
from sarlign.georef.residual_structure import diagnose
from sarlign.pipeline.options import RegisterOptions
from sarlign.pipeline.plan import Plan
from sarlign.pipeline.tasks import TileResult, tile_status


@dataclass(frozen=True)
class Outcome:
    """The plan and options of a registration, its tile results, tie points and global fit."""

    plan: Plan
    options: RegisterOptions
    results: list[TileResult]
    ties: TiePoints
    fit: GlobalFit

    @cached_property
    def new_gcps(self) -> list[GroundControlPoint]:
        """The output's GCPs, in ``new_gcps_crs``: for a richer model a grid carrying it; else the SAR's
        own GCPs moved by the correction (empty unless the SAR is georeferenced by GCPs)."""
        sar, reference = self.plan.sar, self.plan.reference
        if self.fit.field is not None:
            size = (sar.width, sar.height)
            return field_gcps(sar.pixel_to_map, sar.crs, size, self.fit.field, reference.transform, reference.crs,
                              gcp_nodes(self.fit.field, self._sar_extent_px()))
        if not sar.gcps:
            return []
        return corrected_gcps(sar.gcps, sar.crs, self.fit.correction.matrix, reference.crs)

    def _sar_extent_px(self) -> float:
        """The SAR's longer side in reference pixels (its edges' lengths, through its georeferencing)."""
        sar, reference = self.plan.sar, self.plan.reference
        corners = sar.pixel_to_map(np.array([[0.0, 0.0], [sar.width, 0.0], [0.0, sar.height]], float))
        if CRS.from_user_input(sar.crs) != CRS.from_user_input(reference.crs):
            corners = np.column_stack(Transformer.from_crs(sar.crs, reference.crs, always_xy=True).transform(*corners.T))
        pixels = map_points(~reference.transform, corners)
        return float(max(np.linalg.norm(pixels[1] - pixels[0]), np.linalg.norm(pixels[2] - pixels[0])))

    @property
    def new_gcps_crs(self) -> CRS:
        """The CRS of ``new_gcps``: the reference's for a richer model, the SAR's GCPs' otherwise."""
        return self.plan.reference.crs if self.fit.field is not None else self.plan.sar.crs

    @cached_property
    def displacement(self) -> DisplacementGrid | None:
        """The richer model's displacement over the reference grid (None for an affine or translation)."""
        if self.fit.field is None:
            return None
        grid = self.plan.grid
        return sample_displacement(self.fit.field, grid.transform, self.plan.reference.crs, (grid.width, grid.height))

    @cached_property
    def structure(self) -> dict[str, Any]:
        """What the fit leaves behind in its inliers (see :func:`sarlign.georef.residual_structure.diagnose`)."""
        inliers = self.fit.inliers
        residuals = residual_vectors_px(self.fit, self.ties)[inliers]
        ties = self.ties
        return diagnose(ties.sar_grid_xy[inliers], ties.reference_xy[inliers], residuals, self.fit.kind,
                        noise_weights(ties.score)[inliers], ties.footprint_px)

    @cached_property
    def tile_rows(self) -> list[dict[str, Any]]:
        """One row per grid tile: id, window (col, row, width, height), status, reason, tie points, inliers,
        and for tiles that were read, their screening figures and timings (computed once, shared by the
        report and the GeoPackage)."""
        by_id = {r.tile_id: r for r in self.results}
        rows = []
        for tile in self.plan.tiles:
            result = by_id.get(tile.tile_id)
            status, reason = tile_status(result)
            mine = self.ties.tile_id == tile.tile_id
            row: dict[str, Any] = {
                "id": tile.tile_id,
                "window": [int(v) for v in (tile.window.col_off, tile.window.row_off, tile.window.width, tile.window.height)],
                "status": status,
                "reason": reason,
                "tie_points": int(mine.sum()),
                "inliers": int((mine & self.fit.inliers).sum()),
            }
            if result is not None:
                row.update(
                    valid_fraction=round(result.screening.valid_fraction, 4),
                    reference_structure=round(result.screening.reference_structure, 5),
                    sar_structure=round(result.screening.sar_structure, 5),
                    read_s=round(result.read_s, 4),
                    match_s=round(result.match_s, 4),
                    verifier_rejected=result.rejected,
                )
            rows.append(row)
        return rows
