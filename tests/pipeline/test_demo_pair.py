"""The bundled demo pair, registered through an existing Dask scheduler (``--scheduler``).

The dataset's own alignment error cancels out when the aligned SAR's correction is subtracted from the
offset SAR's, leaving the known offset: a tight check of the whole chain on real data shipped in the repo.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from distributed import LocalCluster
from typer.testing import CliRunner

from sarlign.pipeline.cli import app

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"


@pytest.fixture(scope="module")
def scheduler():
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        yield cluster.scheduler_address


def _correction(reference: Path, sar: Path, output: Path, scheduler: str) -> list[float]:
    result = CliRunner().invoke(
        app, ["register", str(reference), str(sar), "-o", str(output), "--scheduler", scheduler, "--quiet", "--json"]
    )
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)["correction"]["shift_px"]


def test_known_offset_recovered_within_a_quarter_pixel(tmp_path, scheduler):
    known = json.loads((SAMPLE / "known_offset.json").read_text())["expected_correction_px"]
    reference = SAMPLE / "s2_reference.tif"
    aligned = _correction(reference, SAMPLE / "s1_aligned.tif", tmp_path / "aligned.tif", scheduler)
    offset = _correction(reference, SAMPLE / "s1_offset.tif", tmp_path / "offset.tif", scheduler)
    recovered = [o - a for o, a in zip(offset, aligned)]
    assert recovered == pytest.approx(known, abs=0.25), (aligned, offset)
