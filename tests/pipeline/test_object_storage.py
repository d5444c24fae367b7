"""Inputs in object storage, as operations teams keep them: ``s3://bucket/key`` read by GDAL's ``/vsis3/``
from an S3 endpoint on the loopback (moto's server, ``python -m moto.server``), configured as a user configures GDAL for S3
(``AWS_S3_ENDPOINT``, ``AWS_HTTPS``, ``AWS_VIRTUAL_HOSTING`` and credentials in the environment)."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import boto3
import numpy as np
import pytest

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


@pytest.fixture(scope="module")
def s3_endpoint():
    """host:port of an S3 server on the loopback for the module's tests, in a process of its own: GDAL
    may hold Python's lock while it waits for the server, which a server thread in this process could
    then never answer (seen: a run hung there)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    endpoint = f"127.0.0.1:{port}"
    try:
        _wait_until_up(endpoint, server)
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def _wait_until_up(endpoint: str, server: subprocess.Popen, timeout_s: float = 60.0) -> None:
    """Return once ``endpoint`` answers HTTP (any status)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(f"http://{endpoint}/", timeout=2)
            return
        except urllib.error.HTTPError:  # an answer, if not a 200
            return
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"the S3 server on {endpoint} did not start") from None
            time.sleep(0.2)


@pytest.fixture
def bucket(s3_endpoint, monkeypatch):
    """A new bucket on the endpoint (its name), with GDAL pointed at the endpoint through the environment;
    ``put(local_path, key)`` uploads a file."""
    for name, value in {**CREDENTIALS, "AWS_S3_ENDPOINT": s3_endpoint, "AWS_HTTPS": "NO",
                        "AWS_VIRTUAL_HOSTING": "FALSE"}.items():
        monkeypatch.setenv(name, value)
    client = boto3.client("s3", endpoint_url=f"http://{s3_endpoint}")  # credentials from the environment
    name = f"scenes-{uuid.uuid4().hex[:8]}"  # GDAL caches what it learnt of a bucket for the process's life
    client.create_bucket(Bucket=name)
    return name, lambda path, key: client.upload_file(str(path), name, key)


def test_inputs_in_s3_register_as_the_same_local_files_do_with_every_output(sarlign, demo_pair, bucket, tmp_path):
    """Both inputs as s3:// URLs (a key with a space, as object stores allow): the local files' correction,
    the locations kept verbatim in the report, and the outputs that read the SAR again (the COG's VRT,
    --resample, --quicklook) read it through /vsis3/."""
    name, put = bucket
    put(demo_pair[0], "optical/s2_reference.tif")
    put(demo_pair[1], "radar 2026/s1_offset.tif")
    reference, sar = f"s3://{name}/optical/s2_reference.tif", f"s3://{name}/radar 2026/s1_offset.tif"
    local = sarlign("register", *demo_pair, "-o", tmp_path / "local.tif", "--json", "--quiet")
    remote = sarlign("register", reference, sar, "-o", tmp_path / "remote.tif", "--resample", "--quicklook", "--json",
                     "--quiet")
    assert local.code == 0 and remote.code == 0, remote
    report = remote.json()
    np.testing.assert_allclose(report["correction"]["shift_px"], local.json()["correction"]["shift_px"], atol=1e-6)
    assert (report["inputs"]["reference"]["path"], report["inputs"]["sar"]["path"]) == (reference, sar)
    assert all((tmp_path / f"remote{suffix}").stat().st_size > 10_000
               for suffix in (".tif", "_resampled.tif", "_checkerboard.png", "_field.png"))


def test_a_key_the_bucket_does_not_hold_exits_2_naming_it(sarlign, demo_pair, bucket, tmp_path):
    name, put = bucket
    put(demo_pair[0], "s2_reference.tif")
    missing = f"s3://{name}/s1_offset.tif"
    ran = sarlign("register", f"s3://{name}/s2_reference.tif", missing, "-o", tmp_path / "x.tif", "--json")
    assert ran.code == 2 and len(ran.errors) == 1 and missing in ran.flat_stderr, ran
    assert list(tmp_path.iterdir()) == []


def _put_folder(put, folder: Path, prefix: str) -> None:
    """Upload every file under ``folder`` to keys under ``prefix``, as a product sits in object storage."""
    for path in folder.rglob("*"):
        if path.is_file():
            put(path, f"{prefix}/{path.relative_to(folder).as_posix()}")


@pytest.mark.parametrize("form", ["zip", "SAFE folder"])
def test_products_in_s3_register_as_the_same_local_products_do(form, sarlign, demo_products, bucket, tmp_path):
    """Sentinel-2 and Sentinel-1 GRD products in a bucket, as zips or as .SAFE folders (the layout of the
    Copernicus Data Space's S3 store): the same products' correction on this machine."""
    name, put = bucket
    products = (demo_products.s2_l1c_zip, demo_products.s1_zip) if form == "zip" else (demo_products.s2_l2a, demo_products.s1)
    locations = []
    for product in products:
        key = f"Sentinel/2023/06/15/{product.name}"
        if product.is_dir():
            _put_folder(put, product, key)
            locations.append(f"s3://{name}/{key}/")
        else:
            put(product, key)
            locations.append(f"s3://{name}/{key}")
    local = sarlign("register", *products, "-o", tmp_path / "local.tif", "--json", "--quiet")
    remote = sarlign("register", *locations, "-o", tmp_path / "remote.tif", "--json", "--quiet")
    assert local.code == 0 and remote.code == 0, remote
    np.testing.assert_allclose(remote.json()["correction"]["shift_px"], local.json()["correction"]["shift_px"],
                               atol=1e-6)
    assert remote.json()["inputs"]["sar"]["path"] == locations[1]
