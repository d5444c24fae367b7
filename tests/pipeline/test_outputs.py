"""The output set of one registration: where each file goes, which a run writes, and the checks made
before any work (the command-line behaviour is in test_bad_inputs)."""

from pathlib import Path

import pytest

from sarlign.errors import InputError
from sarlign.pipeline.outputs import OutputPaths, check_name, check_outputs, remove_unwanted


def test_every_output_lies_beside_the_raster():
    outputs = OutputPaths.beside(Path("/data/out/S1_coreg.tif"))
    assert {p.parent for p in outputs.every().values()} == {Path("/data/out")}
    assert outputs.failure.name == "S1_coreg.failed.json" and outputs.points.name == "S1_coreg.tif.points"
    assert "failure" not in outputs.wanted(resample=True, quicklook=True)
    assert set(outputs.unwanted(resample=False, quicklook=False)) == {
        outputs.resampled, outputs.checkerboard, outputs.residual_map, outputs.field_map, outputs.displacement,
        outputs.failure,
    }
    assert outputs.displacement.name == "S1_coreg_displacement.tif"
    assert outputs.displacement in outputs.wanted(resample=False, quicklook=False, field=True).values()


@pytest.mark.parametrize("name", ["a;b.tif", "x!.tif", "new\nline.tif", "x" * 240 + ".tif"])
def test_names_gdal_misreads_or_too_long_are_refused(name):
    with pytest.raises(InputError):
        check_name(Path("/data") / name)


def test_an_earlier_refusal_does_not_block_a_rerun_but_an_earlier_result_does(tmp_path):
    outputs = OutputPaths.beside(tmp_path / "x.tif")
    outputs.failure.write_text("{}")
    check_outputs(outputs, [], overwrite=False)
    outputs.resampled.write_text("old")
    with pytest.raises(InputError, match="--overwrite"):
        check_outputs(outputs, [], overwrite=False)
    check_outputs(outputs, [], overwrite=True)


def test_a_successful_run_removes_the_files_it_did_not_write(tmp_path):
    outputs = OutputPaths.beside(tmp_path / "x.tif")
    for path in (outputs.raster, outputs.resampled, outputs.failure):
        path.write_text("x")
    remove_unwanted(outputs, resample=False, quicklook=False)
    assert [p.name for p in tmp_path.iterdir()] == ["x.tif"]
