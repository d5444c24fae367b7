"""Misregistered test cases (T, A, X) made from a real aligned SAR GeoTIFF (Volkov pair 020)."""

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.warp import transform as transform_points
from scipy import ndimage

from sarlign.pipeline.eval_cases import CASES, NODATA, CaseLimits, make_cases
from sarlign.pipeline.eval_measure import phase_correlation, read_on_grid
from sarlign.training.volkov import load_pairs, write_geotiffs

SEED = [0, 20]  # what ``evaluate_pairs`` uses for pair 020 with seed 0


@pytest.fixture(scope="module")
def sar(shared_file, tmp_path_factory):
    """The SAR GeoTIFF of pair 020 as written by ``write_geotiffs``, with its pixels and grid."""
    pair = load_pairs(shared_file("pairs/volkov_s1s2"))[0]
    _, path = write_geotiffs(pair, tmp_path_factory.mktemp("pair"))
    with rasterio.open(path) as src:
        return {"path": path, "data": src.read(1), "crs": src.crs, "transform": src.transform,
                "width": src.width, "height": src.height}


@pytest.fixture(scope="module")
def cases(sar, tmp_path_factory):
    return make_cases(sar["path"], tmp_path_factory.mktemp("cases"), np.random.default_rng(SEED))


def warp_of(case, width, height):
    """The A case's pixel warp rebuilt from its recorded parameters (output pixel p reads input at warp(p))."""
    centre = (width / 2, height / 2)
    return (
        Affine.translation(*case["shift_px"])
        @ Affine.rotation(case["rotation_deg"], pivot=centre)
        @ Affine.translation(*centre)
        @ Affine.scale(case["scale"])
        @ Affine.translation(-centre[0], -centre[1])
    )


def centre_shift(moving, fixed, size=128):
    """Phase-correlation shift of ``moving`` against ``fixed`` in a ``size``² window at the image centre."""
    h, w = fixed.shape
    window = (slice(h // 2 - size // 2, h // 2 + size // 2), slice(w // 2 - size // 2, w // 2 + size // 2))
    return np.array(phase_correlation(moving[window].astype(float), fixed[window].astype(float)))


def test_cases_are_written_with_parameters_within_limits(cases, sar):
    """All three cases exist as files named after the SAR, with parameters inside the default limits."""
    limits = CaseLimits()
    assert set(cases) == set(CASES) == {"T", "A", "X"}
    for name, case in cases.items():
        assert case["path"].exists() and case["path"].name == f"volkov_020_sar_{name}.tif"
        assert np.all(np.abs(case["shift_px"]) <= limits.shift)
    assert abs(cases["A"]["rotation_deg"]) <= limits.rotation
    assert abs(cases["A"]["scale"] - 1) <= limits.scale


def test_t_case_shifts_the_geotransform_by_the_recorded_pixels(cases, sar):
    """T: same pixels and CRS; original⁻¹ ∘ T geotransform is exactly the recorded pixel translation."""
    dx, dy = cases["T"]["shift_px"]
    with rasterio.open(cases["T"]["path"]) as src:
        assert src.crs == sar["crs"]
        np.testing.assert_array_equal(src.read(1), sar["data"])
        relative = ~sar["transform"] @ src.transform
    assert tuple(relative)[:6] == pytest.approx((1, 0, dx, 0, 1, dy), abs=1e-6)


def test_t_case_read_on_the_original_grid_is_displaced_by_the_shift(cases, sar):
    """Read back on the original grid, the T case shows its content moved by +(dx, dy)."""
    grid = (sar["crs"], sar["transform"], sar["width"], sar["height"])
    moved = read_on_grid(cases["T"]["path"], *grid)
    assert centre_shift(moved, sar["data"], size=256) == pytest.approx(cases["T"]["shift_px"], abs=0.3)


def test_a_case_pixels_are_the_recorded_warp_of_the_original(cases, sar):
    """A: same grid, nodata −9999; each pixel is the original bilinearly sampled at warp(pixel centre)."""
    warp = warp_of(cases["A"], sar["width"], sar["height"])
    with rasterio.open(cases["A"]["path"]) as src:
        assert src.transform == sar["transform"] and src.crs == sar["crs"]
        assert src.nodata == NODATA and src.dtypes == ("float32",)
        warped = src.read(1).astype(float)
    # Index coordinates (row, col): input = M @ output + offset, with pixel centres at +0.5.
    matrix = np.array([[warp.e, warp.d], [warp.b, warp.a]])
    offset = np.array([warp.d * 0.5 + warp.e * 0.5 + warp.f - 0.5, warp.a * 0.5 + warp.b * 0.5 + warp.c - 0.5])
    expected = ndimage.affine_transform(sar["data"].astype(float), matrix, offset=offset, order=1)
    inner = (slice(100, -100), slice(100, -100))
    np.testing.assert_allclose(warped[inner], expected[inner], atol=0.05)
    assert (warped == NODATA).any()  # the shifted, rotated content leaves part of the frame empty


def test_a_case_centre_is_displaced_as_the_warp_implies(cases, sar):
    """A: at the image centre, phase correlation finds the displacement −(warp(c) − c) within 0.5 px.

    A 64² window keeps the rotation and scale inside it small (about 1 px at its edges)."""
    width, height = sar["width"], sar["height"]
    centre = np.array([width / 2, height / 2])
    expected = -(np.array(warp_of(cases["A"], width, height) @ tuple(centre)) - centre)
    with rasterio.open(cases["A"]["path"]) as src:
        warped = src.read(1)
    assert np.abs(expected).max() > 1  # the check means something
    assert centre_shift(warped, sar["data"], size=64) == pytest.approx(expected, abs=0.5)


def test_x_case_is_geographic_and_displaced_by_its_recorded_shift(cases, sar):
    """X: EPSG:4326; read back on the original grid, the centre moves as the recorded X-pixel shift implies."""
    gx, gy = cases["X"]["shift_px"]
    with rasterio.open(cases["X"]["path"]) as src:
        assert src.crs == rasterio.crs.CRS.from_epsg(4326)
        assert src.nodata == NODATA
        geo = src.transform @ Affine.translation(-gx, -gy)  # the unshifted geographic grid
    # Original pixel q shows, after reading back, the original content at q' (through the X pixel shift).
    q = np.array([sar["width"] / 2, sar["height"] / 2])
    mx, my = sar["transform"] @ tuple(q)
    lon, lat = transform_points(sar["crs"], "EPSG:4326", [mx], [my])
    k = np.array(~geo @ (lon[0], lat[0])) - (gx, gy)
    lon2, lat2 = geo @ tuple(k)
    mx2, my2 = transform_points("EPSG:4326", sar["crs"], [lon2], [lat2])
    expected = q - np.array(~sar["transform"] @ (mx2[0], my2[0]))
    grid = (sar["crs"], sar["transform"], sar["width"], sar["height"])
    moved = read_on_grid(cases["X"]["path"], *grid)
    assert np.abs(expected).max() > 1
    assert centre_shift(moved, sar["data"], size=256) == pytest.approx(expected, abs=0.5)


def test_same_seed_same_parameters_other_seed_different(sar, cases, tmp_path):
    """A generator seeded alike gives the same parameters; another seed gives different ones."""

    def parameters(found):
        return {name: {k: v for k, v in case.items() if k != "path"} for name, case in found.items()}

    (tmp_path / "again").mkdir()
    (tmp_path / "other").mkdir()
    again = make_cases(sar["path"], tmp_path / "again", np.random.default_rng(SEED))
    other = make_cases(sar["path"], tmp_path / "other", np.random.default_rng([1, 20]))
    assert parameters(again) == parameters(cases)
    assert parameters(other)["T"]["shift_px"] != parameters(cases)["T"]["shift_px"]
    with rasterio.open(again["A"]["path"]) as a, rasterio.open(cases["A"]["path"]) as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))


def test_limits_bound_the_parameters(sar, tmp_path):
    """Zero limits give no shift, rotation or scale: T and A reproduce the original exactly."""
    found = make_cases(sar["path"], tmp_path, np.random.default_rng(3), CaseLimits(shift=0, rotation=0, scale=0))
    assert found["T"]["shift_px"] == [0, 0] and found["A"]["rotation_deg"] == 0 and found["A"]["scale"] == 1
    with rasterio.open(found["T"]["path"]) as t, rasterio.open(found["A"]["path"]) as a:
        assert t.transform == sar["transform"]
        np.testing.assert_array_equal(a.read(1), sar["data"].astype(np.float32))
