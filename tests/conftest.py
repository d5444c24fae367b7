"""Shared fixtures: the real shared data folder, small synthetic rasters written with rasterio, and weights
files saved the way the project ships them.

Shared data lives at ``<repo root>/../shared/data``. A missing file skips the tests that need it, except
under CI (``CI=true``) where it fails them.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
from affine import Affine
from rasterio.crs import CRS
from rasterio.errors import NotGeoreferencedWarning

from sarlign.models.checkpoints import sha256

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT / ".." / "shared" / "data"


def _require(path: Path) -> Path:
    """``path`` if it exists; otherwise skip (fail under CI=true)."""
    if not path.exists():
        message = f"shared test data missing: {path.resolve()}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data folder (``<repo root>/../shared/data``)."""
    return _require(SHARED_DATA)


@pytest.fixture(scope="session")
def shared_file(shared_data):
    """``shared_file("pairs/x.png")``: the path of one shared file, skipping (failing under CI) if absent."""

    def get(relative: str) -> Path:
        return _require(shared_data / relative)

    return get


@pytest.fixture(scope="session")
def shifted_copy():
    """``shifted_copy(source, destination, transform_of)``: copy a raster with its geotransform replaced by
    ``transform_of(old_transform)`` (pixels untouched); returns ``destination``."""

    def copy(source, destination, transform_of) -> Path:
        with rasterio.open(source) as src:
            profile, data = src.profile, src.read()
        profile["transform"] = transform_of(profile["transform"])
        with rasterio.open(destination, "w", **profile) as dst:
            dst.write(data)
        return Path(destination)

    return copy


@pytest.fixture(scope="session")
def write_raster():
    """``write_raster(path, data, crs=..., transform=..., nodata=..., **profile)``: write a GeoTIFF, return its path.

    ``data`` is (H, W) or (B, H, W); pass ``crs=None`` to write a file without a CRS.
    """

    def write(path, data, crs="EPSG:32633", transform=None, nodata=None, **profile) -> Path:
        data = np.asarray(data)
        if data.ndim == 2:
            data = data[None]
        options = dict(
            driver="GTiff",
            width=data.shape[2],
            height=data.shape[1],
            count=data.shape[0],
            dtype=data.dtype,
            nodata=nodata,
        )
        if crs is not None:
            options["crs"] = crs
        if transform is not None:
            options["transform"] = transform
        options.update(profile)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            with rasterio.open(path, "w", **options) as dst:
                dst.write(data)
        return Path(path)

    return write


def read_png_grey(path: Path) -> np.ndarray:
    """Mean of a PNG's bands as float32 in [0, 1]."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return (src.read().astype(np.float32) / 255.0).mean(axis=0)


@pytest.fixture(scope="session")
def png_grey():
    """``png_grey(path)``: a PNG read as grey float32 in [0, 1] (mean of its bands)."""
    return read_png_grey


def _test_module(name: str):
    """A helper module of this folder (tests are imported by path, so it is not on ``sys.path``)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, Path(__file__).parent / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]


@pytest.fixture(scope="session")
def safe_products():
    """The module that writes Sentinel-1/2 SAFE products for tests (``tests/safe_products.py``)."""
    return _test_module("safe_products")


@pytest.fixture(scope="session")
def demo_products(safe_products, tmp_path_factory):
    """The bundled demo pair as Sentinel-2 L2A (folder) and L1C (zip) products and a Sentinel-1 GRD
    product (folder and zip), with the same pixels as plain GeoTIFFs (see ``safe_products.DemoProducts``)."""
    return safe_products.demo_products(
        SAMPLE / "s2_reference.tif", SAMPLE / "s1_offset.tif", tmp_path_factory.mktemp("products")
    )


@pytest.fixture(scope="session")
def save_weights():
    """``save_weights(net, path, **metadata)``: the net's weights at ``path`` with the metadata the loaders
    check (sha256, model config) plus ``metadata``, as shipped weights are; returns ``path``."""

    def save(net, path: Path, **metadata) -> Path:
        torch.save(net.state_dict(), path)
        document = {"sha256": sha256(path), "config": {"model": net.config}, **metadata}
        path.with_suffix(".json").write_text(json.dumps(document))
        return path

    return save


def write_gcp_only_sar(
    source: Path, destination: Path, error_m: tuple[float, float], heading_deg: float = -12.0, grid: int = 8
) -> tuple[list, list]:
    """A Sentinel-1 GRD-like raster made from the georeferenced SAR ``source``: no geotransform, only a
    ``grid`` × ``grid`` lattice of GCPs in EPSG:4326 carrying a known error.

    The pixels are resampled into radar-like geometry: rows along a track heading ``heading_deg`` from
    north, lines running northward as on an ascending pass (the image is mirrored against a north-up map),
    values as uint16 amplitude digital numbers (nodata 0), one band described "VV". Each GCP's true
    lon/lat is moved ``error_m`` (east, north) metres on the ellipsoid.

    Returns (the GCPs written, the true GCPs), rasterio ``GroundControlPoint`` lists.
    """
    from pyproj import Geod, Transformer
    from rasterio.control import GroundControlPoint
    from rasterio.warp import Resampling, reproject

    with rasterio.open(source) as src:
        crs, transform, width, height = src.crs, src.transform, src.width, src.height
        values = src.read(1).astype(np.float32)
    theta = np.radians(heading_deg)
    size = int(min(width, height) / (abs(np.cos(theta)) + abs(np.sin(theta)))) - 8
    centre = transform @ (width / 2, height / 2)
    # Pixel (col, row) → map: columns across track (range), rows along track, northward (mirrored).
    grd = (
        Affine.translation(*centre)
        @ Affine.rotation(-heading_deg)
        @ Affine.scale(transform.a, -transform.e)
        @ Affine.translation(-size / 2, -size / 2)
    )
    db = values / 255.0 * 25.0 - 25.0  # the 8-bit scaled backscatter as −25…0 dB
    amplitude = np.sqrt(10.0 ** (db / 10.0)) * 4000.0
    radar = np.zeros((size, size), dtype=np.float32)
    reproject(amplitude, radar, src_transform=transform, src_crs=crs, dst_transform=grd, dst_crs=crs,
              resampling=Resampling.bilinear, dst_nodata=0)
    to_lonlat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    geod = Geod(ellps="WGS84")
    truth, moved = [], []
    for row in np.linspace(0, size, grid):
        for col in np.linspace(0, size, grid):
            lon, lat = to_lonlat.transform(*(grd @ (col, row)))
            lon_e, lat_e, _ = geod.fwd(lon, lat, 90.0, error_m[0])
            lon_e, lat_e, _ = geod.fwd(lon_e, lat_e, 0.0, error_m[1])
            point_id = f"{len(truth) + 1}"
            truth.append(GroundControlPoint(row=row, col=col, x=lon, y=lat, z=0.0, id=point_id))
            moved.append(GroundControlPoint(row=row, col=col, x=lon_e, y=lat_e, z=0.0, id=point_id))
    profile = dict(driver="GTiff", width=size, height=size, count=1, dtype="uint16", nodata=0, tiled=True,
                   blockxsize=256, blockysize=256, compress="deflate")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(destination, "w", **profile) as dst:
            dst.write(np.clip(np.round(radar), 0, 65535).astype(np.uint16), 1)
            dst.set_band_description(1, "VV")
            dst.gcps = (moved, CRS.from_epsg(4326))
    return moved, truth


SAMPLE = REPO_ROOT / "data" / "sample"
GRD_ERROR_M = (-52.0, 41.0)  # east, north on the ground: the known error of the GCPs


@pytest.fixture(scope="session")
def gcp_only_sar(tmp_path_factory) -> dict:
    """The bundled aligned demo SAR as a GRD-like GCP-only raster (see :func:`write_gcp_only_sar`) whose
    GCPs are ``GRD_ERROR_M`` off: {"path", "gcps" (as written), "truth" (true GCPs), "error_m"}."""
    path = tmp_path_factory.mktemp("grd") / "grd_vv.tif"
    written, truth = write_gcp_only_sar(SAMPLE / "s1_aligned.tif", path, GRD_ERROR_M)
    return {"path": path, "gcps": written, "truth": truth, "error_m": GRD_ERROR_M}
