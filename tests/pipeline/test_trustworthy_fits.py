"""Wrong fits do not pass: on real pairs where sarlign used to give a wrong answer with exit 0, it now
refuses (exit 3, naming the gate and what to change) or, given what it asks for, finds the right answer.
"""

from __future__ import annotations

import json

import pytest
from affine import Affine

BIGEARTHNET = "geotiff/bigearthnet"
# 120² px Sentinel-1 patches (each names its Sentinel-2 patch in its metadata), on identical grids:
# pre-registered.
IMPLAUSIBLE = "S1A_IW_GRDH_1SDV_20180204T043253_35VPK_57_38"
SMALL = "S1A_IW_GRDH_1SDV_20170617T064724_29UPU_4_55"
VOLKOV = "geotiff/volkov_s1s2_derived/volkov_101_{}.tif"


def _chip(shared_file, s1: str) -> tuple:
    """(reference B08, SAR VV) of a BigEarthNet patch pair."""
    metadata = shared_file(f"{BIGEARTHNET}/S1/{s1}/{s1}_labels_metadata.json")
    s2 = json.loads(metadata.read_text())["corresponding_s2_patch"]
    return (shared_file(f"{BIGEARTHNET}/S2/{s2}/{s2}_B08.tif"), shared_file(f"{BIGEARTHNET}/S1/{s1}/{s1}_VV.tif"))


def test_an_implausible_rotation_and_scale_is_refused_with_the_gate_named(sarlign, shared_file, tmp_path):
    """The command that gave a −7.7° rotation and scales of 1.061 / 0.925 with exit 0."""
    reference, sar = _chip(shared_file, IMPLAUSIBLE)
    ran = sarlign("register", reference, sar, "-o", tmp_path / "x.tif", "--matcher-option", "template=48",
                  "--matcher-option", "stride=8", "--max-shift", "10", "--quiet", "--json")
    assert ran.code == 3, ran
    assert "--max-rotation" in ran.stderr and "--max-scale-change" in ran.stderr and len(ran.errors) == 1
    assert "--transform translation" in ran.stderr
    assert ran.json()["status"] == "refused"
    diagnosis = json.loads((tmp_path / "x.failed.json").read_text())
    assert abs(max(diagnosis["correction"]["rotation_deg"], key=abs)) > 5
    assert any("rotation" in r for r in diagnosis["refusals"]) and diagnosis["tie_points"]["rows"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.failed.json"]


def test_small_chips_are_matched_with_templates_sized_to_them(sarlign, shared_file, tmp_path):
    """A 120² px pair is smaller than one 128 px template: the templates shrink to half the overlap on a
    denser grid, enough tie points pass, and the pre-registered pair comes back within 2 px of in place."""
    reference, sar = _chip(shared_file, SMALL)
    ran = sarlign("register", reference, sar, "-o", tmp_path / "x.tif", "--quiet", "--json")
    assert ran.code == 0, ran
    report = ran.json()
    assert report["matcher"]["options"] == {"stride": 15, "template": 60}
    assert report["quality"]["inliers"] >= 20
    assert max(abs(v) for v in report["correction"]["shift_px"]) < 2.0


def test_a_small_pair_with_too_few_tie_points_says_why_and_what_to_change(sarlign, shared_file, tmp_path):
    reference, sar = _chip(shared_file, IMPLAUSIBLE)
    ran = sarlign("register", reference, sar, "-o", tmp_path / "x.tif", "--quiet")
    assert ran.code == 3, ran
    assert "tie points were found" in ran.stderr and "overlap by only 120 × 120 px" in ran.stderr
    assert "--min-inliers" in ran.stderr


@pytest.fixture(scope="module")
def volkov_shifted(tmp_path_factory, shared_file, shifted_copy):
    """The Volkov 101 SAR as it is and with its geotransform 48 px east and 20 px north off (50 px)."""
    folder = tmp_path_factory.mktemp("shift50")
    original = shared_file(VOLKOV.format("sar"))
    far = shifted_copy(original, folder / "sar_far.tif", lambda t: t @ Affine.translation(48, -20))
    return shared_file(VOLKOV.format("opt")), original, far


def test_a_shift_beyond_max_shift_is_refused_with_a_larger_value_suggested(sarlign, volkov_shifted, tmp_path):
    """It used to come back 0.7–1.7 px off with exit 0."""
    reference, _, far = volkov_shifted
    ran = sarlign("register", reference, far, "-o", tmp_path / "x.tif", "--quiet")
    assert ran.code == 3, ran
    assert "edge of the ±40 px search" in ran.stderr and "--max-shift 80" in ran.stderr


def test_with_the_larger_max_shift_the_shift_is_found_exactly(sarlign, volkov_shifted, tmp_path):
    """The 50 px case with --max-shift 80 lands where the same SAR without the offset lands (the dataset's
    own alignment is off by a few pixels, so the unshifted run is the reference), within 0.5 px."""
    reference, original, far = volkov_shifted
    near = sarlign("register", reference, original, "-o", tmp_path / "near.tif", "--quiet", "--json")
    found = sarlign("register", reference, far, "-o", tmp_path / "far.tif", "--max-shift", "80", "--quiet", "--json")
    assert near.code == 0 and found.code == 0, (near, found)
    expected = [a - b for a, b in zip(near.json()["correction"]["shift_px"], (48, -20))]
    assert found.json()["correction"]["shift_px"] == pytest.approx(expected, abs=0.5)
