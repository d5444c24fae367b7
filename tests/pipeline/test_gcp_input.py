"""A Sentinel-1 GRD as delivered (georeferenced by GCPs alone) registered end to end.

The input is the bundled aligned demo SAR turned into a GRD-like raster (radar geometry, uint16
amplitude, GCPs in EPSG:4326 carrying a known error of 52 m west, 41 m north; see ``write_gcp_only_sar``).
The demo pair's own alignment is about 3 px off by sarlign's measure (the Volkov data), so where the GRD
belongs is where the same SAR registered with its geotransform belongs: its true GCPs moved by that run's
correction. Both runs fit a translation, the model of a GRD's geolocation error (an orbit or timing
offset), and once more a local field (``--transform local``, carried by a dense GCP grid); each starts a
one-worker local Dask cluster.
"""

import json
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine
from pyproj import Transformer
from rasterio.control import GroundControlPoint
from rasterio.crs import CRS
from skimage.registration import phase_cross_correlation
from typer.testing import CliRunner

from sarlign.georef.gcps import corrected_gcps
from sarlign.pipeline.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
REFERENCE = SAMPLE / "s2_reference.tif"
REFERENCE_CRS = CRS.from_epsg(3395)
PIXEL_M = 10.0  # the reference grid's pixel, map metres of EPSG:3395


def _register(sar, output, transform: str = "translation") -> dict:
    result = CliRunner().invoke(
        app, ["register", str(REFERENCE), str(sar), "-o", str(output), "--resample", "--json", "--quiet", "--workers", "1",
              "--transform", transform]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def runs(tmp_path_factory, gcp_only_sar) -> dict:
    work = tmp_path_factory.mktemp("gcp_runs")
    return {
        "aligned": _register(SAMPLE / "s1_aligned.tif", work / "aligned.tif"),
        "grd": _register(gcp_only_sar["path"], work / "grd.tif"),
    }


def _in_reference_px(gcps) -> np.ndarray:
    """GCP map positions (EPSG:4326) in reference-grid pixel units (EPSG:3395 metres / 10)."""
    to_reference = Transformer.from_crs(4326, REFERENCE_CRS, always_xy=True)
    return np.column_stack(to_reference.transform([g.x for g in gcps], [g.y for g in gcps])) / PIXEL_M


def _rows_as_gcps(rows: list[list[float]]) -> list[GroundControlPoint]:
    """The report's [pixel, line, x, y, z] rows as GCPs."""
    return [GroundControlPoint(row=row, col=col, x=x, y=y, z=z) for col, row, x, y, z in rows]


def test_corrected_gcps_put_the_grd_within_one_pixel_of_where_it_belongs(runs, gcp_only_sar):
    aligned_correction = Affine(*runs["aligned"]["correction"]["map_affine"])
    belongs = corrected_gcps(tuple(gcp_only_sar["truth"]), CRS.from_epsg(4326), aligned_correction, REFERENCE_CRS)
    georeferencing = runs["grd"]["geotransform"]
    assert georeferencing["new"] is None and georeferencing["crs"] == "EPSG:4326"
    corrected = _rows_as_gcps(georeferencing["gcps"]["new"])
    before = np.linalg.norm(_in_reference_px(gcp_only_sar["gcps"]) - _in_reference_px(belongs), axis=1)
    after = np.linalg.norm(_in_reference_px(corrected) - _in_reference_px(belongs), axis=1)
    assert before.min() > 8.0  # the known error and the dataset's own offset: about 12 px of Mercator metres here
    assert after.max() < 0.5, after  # measured: 0.16 px at every GCP (affine fits instead: mean 0.37, max 0.95)


def test_output_carries_the_corrected_gcps_and_the_input_pixels(runs, gcp_only_sar):
    output = runs["grd"]["outputs"]["raster"]
    with rasterio.open(output) as cog, rasterio.open(gcp_only_sar["path"]) as grd:
        gcps, gcps_crs = cog.gcps
        assert cog.crs is None and gcps_crs == CRS.from_epsg(4326)  # still georeferenced by GCPs alone
        written = [[g.col, g.row, g.x, g.y, g.z] for g in gcps]
        np.testing.assert_allclose(written, runs["grd"]["geotransform"]["gcps"]["new"], rtol=0, atol=1e-12)
        assert cog.descriptions == ("VV",) and cog.nodata == 0 and cog.dtypes == ("uint16",)
        np.testing.assert_array_equal(cog.read(1), grd.read(1))


@pytest.fixture(scope="module")
def local_runs(tmp_path_factory, gcp_only_sar) -> dict:
    """The same two registrations with ``--transform local``."""
    work = tmp_path_factory.mktemp("gcp_local_runs")
    return {
        "aligned": _register(SAMPLE / "s1_aligned.tif", work / "aligned.tif", "local"),
        "grd": _register(gcp_only_sar["path"], work / "grd.tif", "local"),
    }


@pytest.mark.parametrize("model_runs", ["runs", "local_runs"])
def test_resampled_grd_lies_where_the_resampled_aligned_sar_does(model_runs, request):
    """Both --resample outputs are on the reference grid; their content agrees to a fraction of a pixel,
    with a translation and with a local field (which a GRD gets as a dense GCP grid in the reference CRS)."""
    runs = request.getfixturevalue(model_runs)
    if model_runs == "local_runs":
        georeferencing = runs["grd"]["geotransform"]
        assert runs["grd"]["transform"] == "local" and georeferencing["crs"] == "EPSG:3395"
        assert len(georeferencing["gcps"]["new"]) == 33 * 33 and "thin-plate" in georeferencing["gcp_transformer"]
    with rasterio.open(runs["grd"]["outputs"]["resampled"]) as grd, rasterio.open(runs["aligned"]["outputs"]["resampled"]) as aligned, rasterio.open(REFERENCE) as ref:
        assert (grd.crs, grd.transform, grd.shape) == (ref.crs, ref.transform, ref.shape)
        moved, still = grd.read(1).astype(np.float64), aligned.read(1).astype(np.float64)
    valid = moved > 0
    rows, cols = np.nonzero(valid)
    # The largest axis-aligned square inside the turned GRD footprint, well inside both.
    r0, r1, c0, c1 = rows.min() + 120, rows.max() - 120, cols.min() + 120, cols.max() - 120
    in_db = 20 * np.log10(np.maximum(moved[r0:r1, c0:c1], 1.0))
    shift = phase_cross_correlation(still[r0:r1, c0:c1], in_db, upsample_factor=20)[0]
    assert np.hypot(*shift) < 0.5, shift
