"""PNG quicklooks of a registration, pictures to look at instead of numbers: a before/after checkerboard of
the reference and the SAR, a map of the tie points' residual vectors, and a map of the field beyond the
affine (the one a richer model applies, or for an affine fit the one a local model would apply).

Conventions: everything is drawn on the reference grid, in the reference CRS. Positions are reference-grid
pixels (x = column, y = row, pixel corners at integers, GDAL's convention); image arrays are (row, col).
Nothing is read whole: a picture reads a decimated view of the overlap (at most a panel's size) or one
full-resolution window. The reference is read on its own grid (``out_shape=``, overviews where the file has
them); the SAR is warped onto the view's grid by GDAL's warper straight from the open file, which streams the
source in chunks and honours the file's own georeferencing, a geotransform or GCPs ("before": the input SAR;
"after": the written output raster). A ``WarpedVRT`` onto an explicit grid would ignore GCPs (rasterio 1.4
builds it from the geotransform alone). Pixels are scaled to [0, 1] as the matchers scale them: the plan's
2–98 % band scalings, the SAR in dB.

Figures are built with matplotlib's object API and drawn on its Agg canvas (no pyplot, no global backend
state). Matplotlib is not thread-safe, so the pairs of a batch, registered in parallel threads, read their
pixels in parallel but draw one at a time.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import shapely
from affine import Affine
from matplotlib import colormaps
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from PIL import Image
from rasterio.crs import CRS
from rasterio.enums import Resampling
from rasterio.windows import Window
from scipy.ndimage import gaussian_gradient_magnitude

from sarlign.georef.field_preview import FieldPreview, preview_model, sample_field
from sarlign.georef.fit import GlobalFit, residual_vectors_px
from sarlign.georef.gcps import gcp_transformer
from sarlign.georef.styles import arrow_exaggeration
from sarlign.locations import display_name
from sarlign.pipeline.outcome import Outcome
from sarlign.tiling.grid import overlap_window
from sarlign.tiling.reading import scaled_grey, warp_onto_grid
from sarlign.tiling.recipe import RasterSource, ReferenceGrid

DPI = 100
PANEL_PX = 512  # a checkerboard panel's side on the canvas; overviews are read at this size, no larger
ZOOM_PX = 256  # side of the full-resolution window of the zoomed panels, shown enlarged 2× (PANEL_PX)
ZOOM_CANDIDATES = 6  # densest inlier windows whose edge agreement is compared to choose the zoom
SQUARES = 8  # checkerboard squares along a panel's long side, fewer where the shift is large
RESIDUAL_PX = 900  # the residual map's side on the canvas
CHECKERBOARD_CANVAS_PX = (1084, 1200)  # (width, height) of the checkerboard PNG
RESIDUAL_CANVAS_PX = (1000, 1030)  # (width, height) of the residual map PNG and of the field map PNG
FIELD_NODES = 96  # the field's magnitude is sampled at this many nodes along the overlap's long side
FIELD_ARROW_STRIDE = 4  # and drawn as an arrow at every 4th node (24 along the long side)
FIELD_COLOURS = colormaps["viridis"]
FIELD_ALPHA = 0.6  # the magnitude over the faint reference, which stays readable beneath it
NO_DATA_RGB = (0.16, 0.18, 0.22)  # a square's pixels where its image has no data
SAR_TINT = np.array([1.0, 0.8, 0.52])  # SAR squares in a warm tone; reference squares in grey
TILE_COLOURS = {"matched": "#1a9850", "no_match": "#d73027", "screened": "#f28e2b", "outside": "#9e9e9e"}
ARROW_COLOURS = ListedColormap(colormaps["plasma"](np.linspace(0.0, 0.85, 256)))  # no pale yellow on grey
_DRAWING = threading.Lock()  # one figure drawn at a time (see the module docstring)


@dataclass(frozen=True)
class View:
    """A part of the reference grid to draw: ``window`` in full-resolution reference pixels, and ``grid``,
    the grid with the same bounds, decimated or not, that its pixels are read on."""

    window: Window
    grid: ReferenceGrid

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """(left, right, bottom, top) in reference pixels, for ``imshow``: y grows downwards."""
        w = self.window
        return (w.col_off, w.col_off + w.width, w.row_off + w.height, w.row_off)

    @property
    def decimation(self) -> float:
        """Reference pixels per view pixel along x (1 at full resolution; y differs by a rounding)."""
        return self.window.width / self.grid.width


def view_of(reference: ReferenceGrid, window: Window, max_px: int) -> View:
    """``window`` of the reference grid, read on a grid decimated so its long side is at most ``max_px``."""
    factor = max(1.0, max(window.width, window.height) / max_px)
    width, height = max(1, round(window.width / factor)), max(1, round(window.height / factor))
    transform = (
        reference.transform
        @ Affine.translation(window.col_off, window.row_off)
        @ Affine.scale(window.width / width, window.height / height)
    )
    return View(window, ReferenceGrid(reference.crs_wkt, transform, width, height))


def _grey(data: np.ma.MaskedArray, source: RasterSource) -> np.ma.MaskedArray:
    """Bands (B, H, W) scaled and averaged as the matchers see them: (H, W) float32 in [0, 1], masked
    where any band has no data."""
    grey, valid = scaled_grey(data, source)
    return np.ma.masked_array(grey, ~valid)


def read_reference(source: RasterSource, view: View) -> np.ma.MaskedArray:
    """The reference on ``view``'s grid (a decimated read of its window, averaging): grey (H, W) in [0, 1]."""
    shape = (len(source.bands), view.grid.height, view.grid.width)
    with rasterio.open(source.path) as src:
        data = src.read(
            list(source.bands), window=view.window, out_shape=shape, resampling=Resampling.average, masked=True
        )
    return _grey(data, source)


def read_sar(
    path: str | Path, source: RasterSource, grid: ReferenceGrid, transformer: dict[str, object] | None = None
) -> np.ma.MaskedArray:
    """The bands ``source`` names of the raster at ``path`` (the input SAR or the output raster, which has the
    same bands), warped onto ``grid`` through the file's own georeferencing (averaging; GCPs read as
    ``transformer`` says): grey (H, W) in [0, 1], masked where it has no data or does not reach."""
    with rasterio.open(path) as src:
        data = warp_onto_grid(
            src, list(source.bands), CRS.from_wkt(grid.crs_wkt), grid.transform, (grid.height, grid.width),
            source.nodata, Resampling.average, transformer,
        )
    return _grey(data, source)


@dataclass(frozen=True)
class Scene:
    """One view read three ways, each (H, W) in [0, 1], masked where there is no data: the reference, the
    SAR through its input georeferencing (``before``) and the output raster (``after``)."""

    view: View
    reference: np.ma.MaskedArray
    before: np.ma.MaskedArray
    after: np.ma.MaskedArray


def read_scene(outcome: Outcome, raster_path: Path, view: View) -> Scene:
    """``view`` of the reference, of the input SAR and of the output raster at ``raster_path``."""
    plan = outcome.plan
    before = read_sar(plan.sar.path, plan.sar_source, view.grid)
    after = read_sar(raster_path, plan.sar_source, view.grid, gcp_transformer(outcome.fit.kind)[0])
    return Scene(view, read_reference(plan.reference_source, view), before, after)


def _overlap(outcome: Outcome) -> Window:
    """The overlap's bounding window on the reference grid."""
    ref = outcome.plan.reference
    return overlap_window(outcome.plan.overlap, ref.transform, ref.width, ref.height)


def overview(outcome: Outcome, max_px: int) -> View:
    """The whole overlap, decimated to at most ``max_px`` on its long side."""
    return view_of(outcome.plan.grid, _overlap(outcome), max_px)


def dense_windows(points: np.ndarray, size: int, within: Window, count: int) -> list[Window]:
    """Up to ``count`` non-overlapping ``size``² windows inside ``within`` (smaller where it is) that hold
    the most of ``points`` (N, 2) (x, y), densest first; positions are searched in steps of ``size / 4``."""
    step = max(1, size // 4)
    width, height = min(size, int(within.width)), min(size, int(within.height))
    cols = np.arange(within.col_off, within.col_off + within.width - width + 1, step)
    rows = np.arange(within.row_off, within.row_off + within.height - height + 1, step)
    in_cols = (points[None, :, 0] >= cols[:, None]) & (points[None, :, 0] < cols[:, None] + width)  # (columns, N)
    in_rows = (points[None, :, 1] >= rows[:, None]) & (points[None, :, 1] < rows[:, None] + height)  # (rows, N)
    counts = in_rows.astype(np.int64) @ in_cols.T.astype(np.int64)  # (rows, columns)
    windows = []
    while len(windows) < count and counts.max() >= 0:
        r, c = np.unravel_index(int(np.argmax(counts)), counts.shape)
        windows.append(Window(int(cols[c]), int(rows[r]), width, height))
        overlapping = (np.abs(rows - rows[r])[:, None] < height) & (np.abs(cols - cols[c])[None, :] < width)
        counts[overlapping] = -1
    return windows


def edge_agreement(a: np.ma.MaskedArray, b: np.ma.MaskedArray) -> float:
    """Correlation of the two images' gradient magnitudes (Gaussian derivatives, σ = 1 px) over the pixels
    valid in both; NaN where fewer than half of them are."""
    valid = ~(np.ma.getmaskarray(a) | np.ma.getmaskarray(b))
    if valid.mean() < 0.5:
        return math.nan
    ga, gb = (gaussian_gradient_magnitude(x.filled(float(x.mean())), 1.0)[valid] for x in (a, b))
    ga, gb = ga - ga.mean(), gb - gb.mean()
    norm = math.sqrt(float((ga * ga).sum() * (gb * gb).sum()))
    return float((ga * gb).sum() / norm) if norm > 0 else math.nan


def _change(scene: Scene) -> float:
    """How much the correction changed the reference–SAR edge agreement of ``scene`` (-1 if unmeasurable)."""
    change = abs(edge_agreement(scene.reference, scene.after) - edge_agreement(scene.reference, scene.before))
    return change if math.isfinite(change) else -1.0


def zoom(outcome: Outcome, raster_path: Path) -> Scene:
    """The ``ZOOM_PX``² full-resolution window to show: of the densest inlier windows, the one where the
    correction changed the reference–SAR edge agreement most (for better or worse), where a misregistration,
    or a wrong correction, is plainest to see. Dense inliers alone pick city centres, whose SAR is a bright
    speckled blob that hides a shift of a few pixels."""
    inliers = outcome.ties.reference_xy[outcome.fit.inliers]
    windows = dense_windows(inliers, ZOOM_PX, _overlap(outcome), ZOOM_CANDIDATES)
    scenes = (read_scene(outcome, raster_path, view_of(outcome.plan.grid, w, ZOOM_PX)) for w in windows)
    return max(scenes, key=_change)


def square_px(view: View, shift_px: float) -> int:
    """Checkerboard square side in view pixels: ``SQUARES`` along the long side, fewer where the shift
    (reference pixels) is over half a square, so a misregistered edge breaks inside a square, visibly,
    instead of jumping a whole one."""
    long_side = max(view.grid.width, view.grid.height)
    squares = max(2, min(SQUARES, math.floor(long_side * view.decimation / max(2 * shift_px, 1e-9))))
    return math.ceil(long_side / squares)


def checkerboard(reference: np.ma.MaskedArray, sar: np.ma.MaskedArray, square: int) -> np.ndarray:
    """(H, W, 3) RGB in [0, 1]: squares of ``square`` px alternating the reference in grey (the top-left
    square) and the SAR tinted ``SAR_TINT``; a square's pixels without data in ``NO_DATA_RGB``."""
    rows, cols = np.indices(reference.shape)
    on_sar = ((rows // square + cols // square) % 2).astype(bool)
    grey = np.where(on_sar, np.ma.getdata(sar), np.ma.getdata(reference))
    rgb = grey[..., None] * np.where(on_sar[..., None], SAR_TINT, 1.0)
    rgb[np.where(on_sar, np.ma.getmaskarray(sar), np.ma.getmaskarray(reference))] = NO_DATA_RGB
    return rgb


def _canvas(size_px: tuple[int, int], title: str, fit: GlobalFit) -> Figure:
    """An empty figure of ``size_px`` (width, height) with a title and the fit's figures under it."""
    width, height = size_px
    fig = Figure(figsize=(width / DPI, height / DPI), dpi=DPI)
    fig.text(0.5, 1 - 10 / height, title, ha="center", va="top", fontsize=15, weight="bold")
    c, q = fit.correction, fit.quality
    fig.text(
        0.5,
        1 - 36 / height,
        f"{fit.kind} correction {c.shift_px[0]:+.2f}, {c.shift_px[1]:+.2f} px ({c.shift_m[0]:+.1f} m E, "
        f"{c.shift_m[1]:+.1f} m N); inlier RMSE {q.rmse_px:.2f} px; {q.inliers} inliers of {q.tie_points} tie points",
        ha="center",
        va="top",
        fontsize=10.5,
    )
    return fig


def _axes(fig: Figure, left: float, top: float, width: float, height: float) -> Axes:
    """Axes without ticks, placed in canvas pixels from the top-left corner."""
    w, h = fig.get_size_inches() * fig.dpi
    ax = fig.add_axes((left / w, 1 - (top + height) / h, width / w, height / h))
    ax.set_xticks([])
    ax.set_yticks([])
    return ax


def checkerboard_figure(whole: Scene, zoomed: Scene, fit: GlobalFit, name: str) -> Figure:
    """Before (left) and after (right): the whole overlap on top, the zoom window at full resolution below,
    outlined in yellow on the overviews."""
    fig = _canvas(CHECKERBOARD_CANVAS_PX, f"{name}: before and after registration", fit)
    shift = math.hypot(*fit.correction.shift_px)
    z = zoomed.view.window
    for column, (label, colour) in enumerate((("before", "#b2182b"), ("after", "#1a7837"))):
        left = 20 + column * (PANEL_PX + 20)
        how = "input georeferencing" if label == "before" else "corrected georeferencing"
        rows = ((whole, 86, how), (zoomed, 86 + PANEL_PX + 44, f"zoom, {ZOOM_PX} × {ZOOM_PX} px at full resolution"))
        for scene, top, what in rows:
            ax = _axes(fig, left, top, PANEL_PX, PANEL_PX)
            image = checkerboard(scene.reference, getattr(scene, label), square_px(scene.view, shift))
            ax.imshow(image, extent=scene.view.extent, interpolation="nearest" if scene is zoomed else "antialiased")
            ax.set_title(f"{label.upper()}: {what}", fontsize=11, color=colour, weight="bold")
            if scene is whole:
                box = Rectangle((z.col_off, z.row_off), z.width, z.height, fill=False, edgecolor="yellow", linewidth=1.5)
                ax.add_patch(box)
    fig.text(
        0.5,
        8 / CHECKERBOARD_CANVAS_PX[1],
        "Squares alternate the reference (grey) and the SAR (tinted). Where the two are registered, coastlines, "
        "quays and roads\nrun on straight across the square edges; where they are not, they break. "
        "The yellow box on the overlap is the zoomed window.",
        ha="center",
        va="bottom",
        fontsize=9.5,
        color="#333333",
    )
    return fig


@dataclass(frozen=True)
class ResidualArrows:
    """The inlier tie points as arrows, reference pixels (x, y): ``start`` where each feature truly is
    (``reference_xy``), ``vector`` its residual (the fit's prediction minus ``start``); drawn ``scale``
    times longer than they are."""

    start: np.ndarray
    vector: np.ndarray
    scale: float


def residual_arrows(outcome: Outcome) -> ResidualArrows:
    """The inliers' residual vectors, lengthened by the factor the GeoPackage's QGIS style uses."""
    fit, ties, inliers = outcome.fit, outcome.ties, outcome.fit.inliers
    scale = arrow_exaggeration(fit.residuals_px[inliers], outcome.plan.overlap_px.bounds)
    return ResidualArrows(ties.reference_xy[inliers], residual_vectors_px(fit, ties)[inliers], scale)


def _map_axes(fig: Figure, view: View, backdrop: np.ma.MaskedArray) -> Axes:
    """The map panel of the residual and field maps: ``backdrop`` (the reference on ``view``'s grid) in
    faint greys, the axes limited to the view."""
    ax = _axes(fig, 20, 62, RESIDUAL_PX, RESIDUAL_PX)
    faint = ListedColormap(np.repeat(np.linspace(0.6, 0.97, 64)[:, None], 3, axis=1))
    ax.imshow(backdrop.filled(1.0), cmap=faint, vmin=0, vmax=1, extent=view.extent, interpolation="antialiased")
    ax.set_xlim(view.extent[0], view.extent[1])
    ax.set_ylim(view.extent[2], view.extent[3])
    ax.set_autoscale_on(False)  # arrows and outlines drawn later do not widen the view
    return ax


def residual_figure(outcome: Outcome, view: View, backdrop: np.ma.MaskedArray) -> Figure:
    """Tie points over the reference (``backdrop``, on ``view``'s grid) shown faint: inlier residuals as
    arrows coloured by length, outliers as grey crosses, tiles outlined in their status colour."""
    ties, fit = outcome.ties, outcome.fit
    fig = _canvas(RESIDUAL_CANVAS_PX, f"{display_name(outcome.plan.inputs[1].location)}: tie-point residuals", fit)
    ax = _map_axes(fig, view, backdrop)
    statuses = []
    for row in outcome.tile_rows:
        col, top, w, h = row["window"]
        ax.add_patch(Rectangle((col, top), w, h, fill=False, edgecolor=TILE_COLOURS[row["status"]], linewidth=1.2))
        statuses.append(row["status"])
    outliers = ties.reference_xy[~fit.inliers]
    ax.plot(outliers[:, 0], outliers[:, 1], "x", color="#555555", markersize=4, markeredgewidth=0.8)
    arrows = residual_arrows(outcome)
    length = np.linalg.norm(arrows.vector, axis=1)
    quiver = ax.quiver(
        *arrows.start.T, *arrows.vector.T, length, cmap=ARROW_COLOURS, clim=(0, max(float(length.max()), 1e-6)),
        angles="xy", scale_units="xy", scale=1 / arrows.scale,
        width=0.0028, headwidth=3.5, headlength=4, headaxislength=3.5,
    )
    key = f"{fit.quality.rmse_px:.2f} px, the inlier RMSE (arrows = residual × {arrows.scale:g})"
    ax.quiverkey(
        quiver, 0.6, -0.03, fit.quality.rmse_px, key, labelpos="E", coordinates="axes", fontproperties={"size": 9.5}
    )
    bar = fig.colorbar(quiver, cax=_axes(fig, 20 + RESIDUAL_PX + 10, 62, 14, RESIDUAL_PX))
    bar.set_label("inlier residual (reference pixels)")
    handles = [
        Line2D([], [], color=c, linewidth=2, label=f"tile {s.replace('_', ' ')}")
        for s, c in TILE_COLOURS.items()
        if s in statuses
    ]
    if len(outliers):
        handles.append(Line2D([], [], marker="x", linestyle="", color="#555555", label=f"outlier ({len(outliers)})"))
    ax.legend(
        handles=handles, loc="upper left", bbox_to_anchor=(0, -0.005), ncol=len(handles), fontsize=9.5, frameon=False
    )
    return fig


def field_figure(outcome: Outcome, view: View, backdrop: np.ma.MaskedArray, preview: FieldPreview | None) -> Figure:
    """The field beyond the affine over the reference (``backdrop``, on ``view``'s grid) shown faint: its
    magnitude in colour, its direction as arrows, the tie points' hull (where the model is used; the field
    fades to zero beyond it) dashed. ``preview`` None: the tie points fill too few cells for a field."""
    name = display_name(outcome.plan.inputs[1].location)
    applied = preview is not None and preview.applied
    title = f"{name}: the {preview.model} field beyond the affine" if applied else f"{name}: a local field, not applied"
    fig = _canvas(RESIDUAL_CANVAS_PX, title, outcome.fit)
    ax = _map_axes(fig, view, backdrop)
    if preview is None:
        ax.text(0.5, 0.5, "The tie points fill too few cells for a local field.", transform=ax.transAxes,
                ha="center", va="center", fontsize=13)
        return fig
    magnitude = preview.magnitude
    step, half = preview.step, preview.step / 2
    extent = (preview.x[0] - half, preview.x[-1] + half, preview.y[-1] + half, preview.y[0] - half)
    top = max(float(magnitude.max()), 0.1)  # a flat field still gets a readable 0–0.1 px scale
    shown = ax.imshow(magnitude, cmap=FIELD_COLOURS, vmin=0, vmax=top, alpha=FIELD_ALPHA, extent=extent,
                      interpolation="bilinear")
    outline = shapely.get_coordinates(shapely.get_exterior_ring(preview.support))  # none for a degenerate hull
    ax.plot(outline[:, 0], outline[:, 1], "--", color="#222222", linewidth=1.2)
    k = FIELD_ARROW_STRIDE
    scale = 0.8 * k * step / top  # the longest arrow spans most of the space between two
    xx, yy = np.meshgrid(preview.x[k // 2 :: k], preview.y[k // 2 :: k])
    vectors = preview.vectors[k // 2 :: k, k // 2 :: k]
    quiver = ax.quiver(xx, yy, vectors[..., 0], vectors[..., 1], angles="xy", scale_units="xy",
                       scale=1 / scale, color="#111111", width=0.0025, headwidth=3.5, headlength=4, headaxislength=3.5)
    inside = magnitude[preview.within_support()]
    key = f"{top:.2f} px (arrows × {scale:.3g})"
    if inside.size:
        key += f"; inside the tie points' hull: max {inside.max():.2f} px, RMS {np.sqrt(np.mean(inside**2)):.2f} px"
    ax.quiverkey(quiver, 0.03, -0.025, top, key, labelpos="E", coordinates="axes", fontproperties={"size": 9.5})
    bar = fig.colorbar(shown, cax=_axes(fig, 20 + RESIDUAL_PX + 10, 62, 14, RESIDUAL_PX))
    bar.set_label("field beyond the affine (reference pixels)")
    how = ("The output carries this field (GCP grid; --resample warps through it)." if applied else
           "The output carries the affine only; this is what --transform local would add.")
    ax.text(0, -0.045, how + " Dashed: the tie points' hull, beyond which the field fades out.",
            transform=ax.transAxes, ha="left", va="top", fontsize=9.5)
    return fig


def save_png(fig: Figure, path: Path) -> None:
    """Draw ``fig`` on the Agg canvas and save it as a palette PNG of at most 256 colours (a quarter of the
    RGB file's size; the pictures hold greys, one tint and a few annotation colours, so nothing visible is
    lost)."""
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    rgb = Image.fromarray(np.asarray(canvas.buffer_rgba())[..., :3])
    rgb.quantize(colors=256, method=Image.Quantize.FASTOCTREE).save(path, format="PNG", optimize=True)


def field_preview(outcome: Outcome, view: View, nodes: int) -> FieldPreview | None:
    """The fit's field beyond the affine (see :mod:`sarlign.georef.field_preview`) at ``nodes`` along the
    long side of ``view``; None where the tie points fill too few cells for one."""
    model = preview_model(outcome.fit, outcome.ties)
    if model is None:
        return None
    w = view.window
    bounds = (w.col_off, w.row_off, w.col_off + w.width, w.row_off + w.height)
    return sample_field(outcome.fit, model, bounds, nodes)


def write_quicklooks(
    outcome: Outcome, raster_path: Path, checkerboard_path: Path, residual_map_path: Path, field_map_path: Path
) -> None:
    """Write the before/after checkerboard, the residual map and the field map of a registration whose
    co-registered SAR was written to ``raster_path``."""
    whole = read_scene(outcome, raster_path, overview(outcome, PANEL_PX))
    zoomed = zoom(outcome, raster_path)
    view = overview(outcome, RESIDUAL_PX)
    backdrop = read_reference(outcome.plan.reference_source, view)
    preview = field_preview(outcome, view, FIELD_NODES)
    name = display_name(outcome.plan.inputs[1].location)
    with _DRAWING:
        save_png(checkerboard_figure(whole, zoomed, outcome.fit, name), checkerboard_path)
        save_png(residual_figure(outcome, view, backdrop), residual_map_path)
        save_png(field_figure(outcome, view, backdrop, preview), field_map_path)
