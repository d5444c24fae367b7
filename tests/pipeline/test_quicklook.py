"""The quicklooks of a real registration: the bundled demo pair, whose SAR georeferencing is off by a known
(14, -9) px, registered through ``sarlign register --quicklook``. The pictures are checked as files (valid
PNGs of the canvas size) and through what they draw: the zoomed "after" panel's SAR edges agree with the
reference better than the "before" panel's, and the residual map draws one arrow per inlier.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from distributed import LocalCluster
from matplotlib.quiver import Quiver
from PIL import Image
from rasterio.windows import Window
from scipy.ndimage import gaussian_filter
from typer.testing import CliRunner

from sarlign.georef.fit import residual_vectors_px
from sarlign.pipeline import quicklook
from sarlign.pipeline.cli import app
from sarlign.pipeline.outputs import OutputPaths
from sarlign.tiling.recipe import RasterSource, ReferenceGrid
from sarlign.tiling.scaling import band_scaling
from sarlign.tiling.scene import open_raster

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
README_IMAGE_BYTES = 400_000  # the demo's quicklooks are shown in the README


@pytest.fixture(scope="module")
def registered(tmp_path_factory):
    """(outcome drawn, output paths) of the demo's offset pair registered with ``--quicklook``."""
    drawn = []
    draw = quicklook.write_quicklooks

    def keep_outcome(outcome, *paths):
        drawn.append(outcome)
        draw(outcome, *paths)

    output = tmp_path_factory.mktemp("quicklook") / "s1_offset_coreg.tif"
    inputs = [str(SAMPLE / "s2_reference.tif"), str(SAMPLE / "s1_offset.tif")]
    arguments = ["register", *inputs, "-o", str(output), "--quicklook", "--quiet"]
    with pytest.MonkeyPatch.context() as patch, LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0"
    ) as cluster:
        patch.setattr(quicklook, "write_quicklooks", keep_outcome)  # register imports it when it draws
        result = CliRunner().invoke(app, [*arguments, "--scheduler", cluster.scheduler_address])
    assert result.exit_code == 0, result.output
    (outcome,) = drawn
    return outcome, OutputPaths.beside(output)


def _gradient_correlation(a: np.ma.MaskedArray, b: np.ma.MaskedArray) -> float:
    """Correlation of the gradient magnitudes of two images (smoothed, σ = 1.5 px) where both are valid."""
    valid = ~(np.ma.getmaskarray(a) | np.ma.getmaskarray(b))
    ga, gb = (np.hypot(*np.gradient(gaussian_filter(x.filled(float(x.mean())), 1.5))) for x in (a, b))
    return float(np.corrcoef(ga[valid], gb[valid])[0, 1])


@pytest.mark.parametrize(
    "name, size",
    [
        ("checkerboard", quicklook.CHECKERBOARD_CANVAS_PX),
        ("residual_map", quicklook.RESIDUAL_CANVAS_PX),
        ("field_map", quicklook.RESIDUAL_CANVAS_PX),
    ],
)
def test_each_quicklook_is_a_small_png_of_its_canvas_size(registered, name, size):
    path = getattr(registered[1], name)
    assert path.name.endswith(("_checkerboard.png", "_residuals.png", "_field.png"))
    with Image.open(path) as image:
        image.verify()
    with Image.open(path) as image:
        assert (image.format, image.size) == ("PNG", size)
        assert len(image.convert("RGB").getcolors(1024)) > 32  # a picture, not a blank canvas
    assert path.stat().st_size < README_IMAGE_BYTES


def test_after_correction_the_sar_edges_meet_the_reference_edges_in_the_zoom_and_overview(registered):
    outcome, outputs = registered
    zoomed = quicklook.zoom(outcome, outputs.raster)
    whole = quicklook.read_scene(outcome, outputs.raster, quicklook.overview(outcome, quicklook.PANEL_PX))
    assert zoomed.view.decimation == 1 and zoomed.reference.shape == (quicklook.ZOOM_PX, quicklook.ZOOM_PX)
    for scene in (zoomed, whole):
        before, after = (_gradient_correlation(scene.reference, sar) for sar in (scene.before, scene.after))
        assert after > before + 0.05, (scene.view.window, before, after)


def test_the_checkerboard_alternates_reference_and_tinted_sar_squares_and_marks_missing_data():
    reference = np.ma.masked_array(np.full((4, 4), 0.5, np.float32), np.zeros((4, 4), bool))
    sar = np.ma.masked_array(np.full((4, 4), 1.0, np.float32), np.zeros((4, 4), bool))
    sar[3, 3] = np.ma.masked
    rgb = quicklook.checkerboard(reference, sar, square=2)
    np.testing.assert_allclose(rgb[0, 0], [0.5, 0.5, 0.5])  # top-left square: the reference, grey
    np.testing.assert_allclose(rgb[0, 2], quicklook.SAR_TINT)  # its neighbours: the SAR, tinted
    np.testing.assert_allclose(rgb[2, 0], quicklook.SAR_TINT)
    np.testing.assert_allclose(rgb[2, 2], [0.5, 0.5, 0.5])
    np.testing.assert_allclose(rgb[3, 3], [0.5, 0.5, 0.5])  # a reference square: the SAR's gap is not shown
    sar[1, 3] = np.ma.masked
    np.testing.assert_allclose(quicklook.checkerboard(reference, sar, square=2)[1, 3], quicklook.NO_DATA_RGB)


def test_the_residual_map_draws_one_arrow_per_inlier_with_its_residual(registered):
    outcome, _ = registered
    fit = outcome.fit
    view = quicklook.overview(outcome, quicklook.RESIDUAL_PX)
    backdrop = quicklook.read_reference(outcome.plan.recipes[0].reference, view)
    figure = quicklook.residual_figure(outcome, view, backdrop)
    (arrows,) = [c for ax in figure.axes for c in ax.collections if isinstance(c, Quiver)]
    assert arrows.N == fit.quality.inliers == int(fit.inliers.sum()) > 100
    np.testing.assert_allclose(arrows.X, outcome.ties.reference_xy[fit.inliers, 0])
    residuals = residual_vectors_px(fit, outcome.ties)[fit.inliers]
    np.testing.assert_allclose(np.column_stack([arrows.U, arrows.V]), residuals)
    assert f"inlier RMSE {fit.quality.rmse_px:.2f} px" in " ".join(t.get_text() for t in figure.texts)


def test_the_field_map_of_an_affine_fit_draws_the_local_field_its_inliers_would_give(registered):
    """The demo pair is registered with the affine: the field map shows, unapplied, the local field of its
    inliers, as arrows at every FIELD_ARROW_STRIDE-th node of the sampled field."""
    outcome, _ = registered
    view = quicklook.overview(outcome, quicklook.RESIDUAL_PX)
    backdrop = quicklook.read_reference(outcome.plan.recipes[0].reference, view)
    preview = quicklook.field_preview(outcome, view, quicklook.FIELD_NODES)
    assert not preview.applied and preview.model == "local"
    figure = quicklook.field_figure(outcome, view, backdrop, preview)
    (arrows,) = [c for ax in figure.axes for c in ax.collections if isinstance(c, Quiver)]
    k = quicklook.FIELD_ARROW_STRIDE
    rows, cols = np.meshgrid(np.arange(k // 2, len(preview.y), k), np.arange(k // 2, len(preview.x), k), indexing="ij")
    np.testing.assert_allclose(np.column_stack([arrows.X, arrows.Y]), np.column_stack([preview.x[cols.ravel()],
                                                                                       preview.y[rows.ravel()]]))
    np.testing.assert_allclose(np.column_stack([arrows.U, arrows.V]), preview.vectors[rows.ravel(), cols.ravel()])
    assert 0 < preview.magnitude.max() < 3  # a 1 px inlier RMSE: a field of a pixel or so, not of the shift
    assert "not applied" in " ".join(t.get_text() for t in figure.texts)


def test_a_sar_georeferenced_by_gcps_alone_is_read_through_its_gcps(gcp_only_sar):
    """The GRD-like, GCP-only copy of the aligned demo SAR (GCPs 44 m off) reads onto a decimated reference
    grid (4 px to a view pixel) nearly as the SAR itself does through its geotransform."""
    reference = open_raster(str(SAMPLE / "s2_reference.tif"), "reference")
    grid = ReferenceGrid(reference.crs.to_wkt(), reference.transform, reference.width, reference.height)
    view = quicklook.view_of(grid, Window(128, 128, 512, 512), 128)
    greys = []
    for path, nodata in ((SAMPLE / "s1_aligned.tif", None), (gcp_only_sar["path"], 0)):
        source = RasterSource(str(path), (1,), (band_scaling(str(path), 1, nodata, "SAR", "auto"),), nodata)
        greys.append(quicklook.read_sar(path, source, view.grid))
    through_transform, through_gcps = greys
    assert np.ma.count_masked(through_gcps) == 0  # the window lies inside the GRD's footprint
    assert np.corrcoef(through_transform.filled(0).ravel(), through_gcps.filled(0).ravel())[0, 1] > 0.7

