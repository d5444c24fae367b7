"""The benchmark scene generator: a Sentinel-2-like reference and a Sentinel-1-like SAR in EPSG:4326 made
from the real training pairs, whose known misregistration sarlign recovers."""

from __future__ import annotations

import importlib.util
import json
import math
from pathlib import Path

import numpy as np
import pytest
import rasterio
from distributed import Client, LocalCluster

from sarlign.pipeline.options import RegisterOptions
from sarlign.pipeline.register import register_pair

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "make_scene.py"


def _make_scene_module():
    spec = importlib.util.spec_from_file_location("make_scene", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def scene(shared_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("scene")
    truth = _make_scene_module().make_scene(shared_data, out, size=1300, seed=3, offset_px=(-9.4, 6.2))
    return out, truth


def test_reference_is_a_sentinel2_like_utm_uint16_tile(scene):
    out, truth = scene
    with rasterio.open(out / "reference.tif") as ref:
        assert (ref.width, ref.height, ref.count) == (1300, 1300, 1)
        assert ref.crs.to_epsg() == 32632 and ref.res == (10.0, 10.0)
        assert ref.dtypes[0] == "uint16" and ref.nodata == 0
        assert ref.block_shapes[0] == (1024, 1024) and ref.compression.name == "deflate"
        assert ref.overviews(1) == [2, 4, 8, 16]
        data = ref.read(1, out_shape=(130, 130))
    assert data.min() >= 1000  # digital numbers offset as Level-2A's, never nodata inside the scene
    assert len(truth["blocks"]) == 4  # 2 × 2 blocks of 1024² cover 1300²


def test_sar_is_float_db_in_geographic_coordinates_with_nodata_borders(scene):
    out, _ = scene
    with rasterio.open(out / "sar.tif") as sar:
        assert sar.crs.to_epsg() == 4326 and sar.dtypes[0] == "float32" and math.isnan(sar.nodata)
        lat = sar.xy(sar.height // 2, 0)[1]
        metres = (sar.res[0] * 111_320 * math.cos(math.radians(lat)), sar.res[1] * 110_950)
        assert metres == pytest.approx((10.0, 10.0), rel=0.01)
        data = sar.read(1)
    valid = data[np.isfinite(data)]
    assert -25.0 <= valid.min() and valid.max() <= -5.0
    row = data[data.shape[0] // 2]
    assert np.isnan(row[:20]).all() and np.isfinite(row[data.shape[1] // 2])  # swath edge on the left


def test_sarlign_recovers_the_known_offset_within_half_a_pixel(scene, tmp_path):
    out, truth = scene
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, Client(cluster) as client:
        report = register_pair(str(out / "reference.tif"), str(out / "sar.tif"), tmp_path / "registered.tif", RegisterOptions(), client)
    assert report["correction"]["shift_px"] == pytest.approx(truth["expected_correction_px"], abs=0.5)
    assert json.loads((out / "truth.json").read_text())["offset_px"] == [-9.4, 6.2]
