"""What a richer model adds to its affine, sampled on the reference grid: the field a richer fit applies,
or, for an affine (or translation) fit, the field a local model of its inliers would add (not applied; it
tells a user whether ``--transform local`` is worth a try).

Conventions: positions and vectors are reference-grid pixels (x right, y down, pixel corners at integers).
A model maps SAR-grid points to reference points; the field at a reference point ``r`` is the model's
displacement beyond its own affine (:meth:`SupportedModel.displacement`: zero beyond the fade) at the
SAR-grid point the fit's affine sends to ``r``. The field is smooth over hundreds of pixels, so the few
pixels by which the richer model moves that point change nothing visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry import Polygon

from sarlign.georef.fit import GlobalFit, TiePoints
from sarlign.georef.kriging import noise_weights
from sarlign.georef.robust import apply
from sarlign.georef.smooth_models import SupportedModel, fit_local


@dataclass(frozen=True)
class FieldPreview:
    """A model's displacement beyond its affine, on a regular grid of reference points.

    ``x`` (W,) and ``y`` (H,): the grid's columns and rows (reference pixels), ``step`` px apart;
    ``vectors`` (H, W, 2): the displacement (px) at each node; ``support``: the tie points' hull, where the
    model is used (beyond it the displacement fades to zero); ``applied``: the output carries this field
    (False: a local field the affine fit's inliers would give, for comparison); ``model``: its name.
    """

    x: np.ndarray
    y: np.ndarray
    step: float
    vectors: np.ndarray
    support: Polygon
    applied: bool
    model: str

    @property
    def magnitude(self) -> np.ndarray:
        """(H, W) length of the displacement, px."""
        return np.linalg.norm(self.vectors, axis=-1)

    def within_support(self) -> np.ndarray:
        """(H, W) bool: the nodes inside the tie points' hull."""
        xx, yy = np.meshgrid(self.x, self.y)
        return shapely.contains_xy(self.support, xx, yy)


def _to_sar_grid(affine: np.ndarray, reference_xy: np.ndarray) -> np.ndarray:
    """(N, 2) SAR-grid points that the affine (2, 3) sends to ``reference_xy`` (N, 2)."""
    return np.linalg.solve(affine[:, :2], (reference_xy - affine[:, 2]).T).T


def preview_model(fit: GlobalFit, ties: TiePoints) -> SupportedModel | None:
    """The model to preview: the fit's richer model, or for an affine or translation fit a local field
    fitted to its inliers (None where they are too few for one)."""
    if fit.field is not None:
        return fit.field
    inliers = fit.inliers
    try:
        return fit_local(ties.sar_grid_xy[inliers], ties.reference_xy[inliers], noise_weights(ties.score)[inliers],
                         ties.footprint_px)
    except ValueError:  # too few tie points for a field
        return None


def sample_field(
    fit: GlobalFit, model: SupportedModel, bounds: tuple[float, float, float, float], nodes: int
) -> FieldPreview:
    """``model``'s displacement beyond its affine on a grid of ``nodes`` along the longer side of ``bounds``
    (left, top, right, bottom; reference pixels), nodes at the centres of square cells; applied where
    ``model`` is the fit's own."""
    left, top, right, bottom = bounds
    step = max(right - left, bottom - top) / nodes
    x, y = (start + step * (np.arange(max(1, round((end - start) / step))) + 0.5)
            for start, end in ((left, right), (top, bottom)))
    reference = np.stack(np.meshgrid(x, y), axis=-1).reshape(-1, 2)
    vectors = model.displacement(_to_sar_grid(fit.model, reference)).reshape(len(y), len(x), 2)
    hull = shapely.transform(model.support, lambda points: apply(fit.model, points))
    return FieldPreview(x, y, step, vectors, hull, model is fit.field, model.name)
