"""Shared fixtures: the real shared data folder, small synthetic rasters written with rasterio, and weights
files saved the way the project ships them.

Shared data lives at ``<repo root>/../shared/data``. A missing file skips the tests that need it, except
under CI (``CI=true``) where it fails them.
"""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch
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
