"""All-or-nothing outputs: temporary names beside the finals, renamed together or all deleted."""

import os
from pathlib import Path

import pytest

from sarlign.georef.staging import staged


def _finals(tmp_path):
    return [tmp_path / "out.tif", tmp_path / "out.gpkg", tmp_path / "out.json"]


def test_temporaries_are_hidden_and_keep_suffix(tmp_path):
    finals = _finals(tmp_path)
    with staged(*finals) as temps:
        assert len(temps) == 3
        for temp, final in zip(temps, finals):
            assert temp.parent == final.parent
            assert temp.name.startswith(".") and ".partial" in temp.name
            assert temp.suffix == final.suffix
            assert temp != final
        assert len({t.name for t in temps}) == 3
        for temp in temps:
            temp.write_text(temp.suffix)


def test_success_renames_every_file(tmp_path):
    finals = _finals(tmp_path)
    with staged(*finals) as temps:
        for temp in temps:
            temp.write_text("new " + temp.suffix)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in finals)
    for final in finals:
        assert final.read_text() == "new " + final.suffix


def test_success_replaces_existing_finals(tmp_path):
    finals = _finals(tmp_path)
    for f in finals:
        f.write_text("old")
    with staged(*finals) as temps:
        for temp in temps:
            temp.write_text("new")
    assert all(f.read_text() == "new" for f in finals)
    assert len(list(tmp_path.iterdir())) == 3


def test_exception_leaves_no_temporary_and_no_final(tmp_path):
    finals = _finals(tmp_path)
    with pytest.raises(RuntimeError, match="boom"):
        with staged(*finals) as temps:
            temps[0].write_text("half-written raster")
            temps[1].write_text("tie points")
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_exception_keeps_previous_finals_untouched(tmp_path):
    finals = _finals(tmp_path)
    for f in finals:
        f.write_text("old")
    with pytest.raises(KeyboardInterrupt):
        with staged(*finals) as temps:
            for temp in temps:
                temp.write_text("new")
            raise KeyboardInterrupt
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(f.name for f in finals)
    assert all(f.read_text() == "old" for f in finals)


def test_unwritten_temporary_is_skipped(tmp_path):
    """A final whose temporary was never written (e.g. an optional output) is not created."""
    finals = _finals(tmp_path)
    with staged(*finals) as temps:
        temps[0].write_text("raster")
    assert [p.name for p in tmp_path.iterdir()] == ["out.tif"]


def test_two_stagings_do_not_share_temporaries(tmp_path):
    final = tmp_path / "out.tif"
    with staged(final) as a, staged(final) as b:
        assert a[0] != b[0]
        assert isinstance(a[0], Path)


def test_leftovers_of_dead_processes_are_removed_and_those_of_live_ones_kept(tmp_path):
    import subprocess

    from sarlign.georef.staging import remove_stale_temporaries

    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = [tmp_path / f".out.{dead.pid}-0badc0de.partial.tif", tmp_path / f".sarlign-overviews-{dead.pid}-x1"]
    stale[0].write_text("half")
    stale[1].mkdir()
    live = tmp_path / f".out.{os.getpid()}-00c0ffee.partial.tif"
    live.write_text("being written")
    unrelated = [tmp_path / ".hidden", tmp_path / "out.tif", tmp_path / ".out.partial.tif"]
    for path in unrelated:
        path.write_text("keep")
    assert sorted(remove_stale_temporaries(tmp_path)) == sorted(stale)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in [live, *unrelated])
