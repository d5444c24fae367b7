"""Fixtures for the output checks: one real registration with a known shift, and QGIS run as a separate
program (its Python bindings live in the system interpreter, not in the project's environment)."""

from __future__ import annotations

import json
import os
import subprocess
import textwrap
from pathlib import Path

import pytest
from affine import Affine
from distributed import Client, LocalCluster

from sarlign.pipeline.options import RegisterOptions
from sarlign.pipeline.outputs import OutputPaths
from sarlign.pipeline.register import register_pair

VOLKOV = "geotiff/volkov_s1s2_derived/volkov_101_{}.tif"
SHIFT = (12, -7)  # applied to the SAR geotransform, reference pixels (x, y)
# The interpreter QGIS's bindings are installed for (Debian/Ubuntu's python3-qgis installs for the system one).
QGIS_PYTHON = os.environ.get("QGIS_PYTHON", "/usr/bin/python3")


@pytest.fixture(scope="session")
def volkov_registration(tmp_path_factory, shared_file, shifted_copy) -> dict:
    """Volkov 101 registered with its SAR georeferenced (+12, −7) px off: the report, the output paths
    (``OutputPaths``), the reference and the shifted SAR that was registered."""
    work = tmp_path_factory.mktemp("registered")
    sar = shifted_copy(shared_file(VOLKOV.format("sar")), work / "sar.tif", lambda t: t @ Affine.translation(*SHIFT))
    reference = shared_file(VOLKOV.format("opt"))
    output = work / "registered.tif"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster, Client(
        cluster
    ) as client:
        report = register_pair(str(reference), str(sar), output, RegisterOptions(), client)
    return {"report": report, "outputs": OutputPaths.beside(output), "reference": reference, "sar": sar}


def _qgis_available() -> bool:
    try:
        probe = subprocess.run([QGIS_PYTHON, "-c", "import qgis.core"], capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return probe.returncode == 0


@pytest.fixture(scope="session")
def qgis():
    """``qgis(body, *args)``: run ``body`` in QGIS's Python (headless, ``QgsApplication`` initialised,
    ``args`` in ``sys.argv[1:]``); ``body`` sets ``result``, which comes back decoded from JSON.

    Skips when QGIS's Python bindings are missing, except under CI=true, where that fails.
    """
    if not _qgis_available():
        message = f"QGIS's Python bindings are not importable by {QGIS_PYTHON} (set QGIS_PYTHON)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)
    prologue = "import json, os, sys\nfrom qgis.core import QgsApplication\napp = QgsApplication([], False)\napp.initQgis()\n"
    # os._exit: QGIS 3.22 may crash while tearing down after the result is out.
    epilogue = "\nprint(json.dumps(result))\nsys.stdout.flush()\nos._exit(0)\n"

    def run(body: str, *args: str | Path):
        script = prologue + textwrap.dedent(body) + epilogue
        env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
        done = subprocess.run(
            [QGIS_PYTHON, "-c", script, *map(str, args)], capture_output=True, text=True, env=env, timeout=300
        )
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run
