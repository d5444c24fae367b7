"""What a user may do wrong, and what sarlign does about it.

Each test is one mistake, run through the command line as a user types it. The contract: exit code 2 for
bad input (one line naming the file or option, checked before any matching), 3 for a fit sarlign will
not stand behind (with its reason), 130 for an interrupt; nothing written in the output folder but a
refusal's diagnosis, nothing written anywhere else; ``--json`` prints a JSON object on failure too.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

from sarlign.errors import InputError, OptionError

OPTIONS_THAT_CANNOT_WORK = [
    ("--max-shift", "-5"),
    ("--max-shift", "100000"),
    ("--max-shift", "abc"),
    ("--tile-size", "3"),
    ("--tile-overlap", "400"),
    ("--min-inliers", "1"),
    ("--max-rmse", "0"),
    ("--max-rotation", "-1"),
    ("--max-scale-change", "0"),
    ("--min-valid", "1.5"),
    ("--search-budget", "-1"),
    ("--workers", "0"),
    ("--device", "tpu"),
    ("--transform", "projective"),
    ("--transform", "polynomial4"),
    ("--sar-scale", "decibels"),
    ("--matcher", "nonesuch"),
    ("--matcher-option", "foo=1"),
    ("--matcher-option", "template=abc"),
    ("--matcher-option", "template"),
    ("--reference-bands", "1,0"),
    ("--reference-bands", ","),
    ("--sar-band", "0"),
    ("--sar-band", "+1"),
    ("--target-crs", "EPSG:32633"),  # without --resample, which it shapes
    ("--resampling", "lanczos"),
    ("--target-resolution", "0"),
    ("--target-resolution", "10,20,30"),
    ("--co", "COMPRESS"),
    ("--co", "OVERVIEWS=NONE"),
    ("--co", "COMPRESS=NOPE"),
    ("--co", "COMPRESS=JPEG"),  # lossy: not for SAR values
    ("--calibrate", "sigma1"),
]


def _files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture
def out_dir(tmp_path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


# --- options -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("option", "value"), OPTIONS_THAT_CANNOT_WORK)
def test_an_option_value_that_cannot_work_exits_2_naming_the_option(option, value, sarlign, demo_pair, out_dir):
    ran = sarlign("register", *demo_pair, "-o", out_dir / "x.tif", option, value, "--json")
    assert ran.code == 2, ran
    assert len(ran.lines) == 1 and ran.lines[0].startswith("error:")
    assert option in ran.stderr
    assert ran.json() == {"status": "bad_input", "exit_code": 2, "message": ran.json()["message"]}
    assert _files(out_dir) == []


@pytest.mark.parametrize("value", ["EPSG:99999", "not a crs", "EPSG:4978"])  # the last geocentric
def test_a_target_crs_gdal_does_not_know_exits_2(value, sarlign, demo_pair, out_dir):
    ran = sarlign("register", *demo_pair, "-o", out_dir / "x.tif", "--resample", "--target-crs", value)
    assert ran.code == 2 and "--target-crs" in ran.stderr and len(ran.lines) == 1, ran
    assert _files(out_dir) == []


def test_an_unknown_option_or_a_missing_argument_exits_2_in_one_line(sarlign, demo_pair, out_dir):
    for arguments in (("register", *demo_pair, "-o", out_dir / "x.tif", "--bogus"), ("register", demo_pair[0])):
        ran = sarlign(*arguments)
        assert ran.code == 2 and len(ran.lines) == 1 and "sarlign register --help" in ran.stderr, ran
    assert _files(out_dir) == []


# --- outputs -----------------------------------------------------------------------------------------


def test_output_that_is_an_existing_folder_exits_2_even_with_overwrite(sarlign, demo_pair, out_dir):
    ran = sarlign("register", *demo_pair, "-o", out_dir, "--overwrite")
    assert ran.code == 2 and "is a folder" in ran.stderr, ran
    assert _files(out_dir) == [] and _files(out_dir.parent) == ["out"]


@pytest.mark.parametrize("name", ["out.png", "out.jpg", "out"])
def test_an_output_that_is_not_named_as_a_geotiff_exits_2_and_writes_nothing(name, sarlign, demo_pair, out_dir):
    ran = sarlign("register", *demo_pair, "-o", out_dir / name)
    assert ran.code == 2 and "--output" in ran.stderr and "must end in .tif or .tiff" in ran.stderr, ran
    assert _files(out_dir) == []


def test_a_sidecar_path_that_is_a_folder_exits_2(sarlign, demo_pair, out_dir):
    (out_dir / "x.json").mkdir()
    ran = sarlign("register", *demo_pair, "-o", out_dir / "x.tif", "--overwrite")
    assert ran.code == 2 and "x.json" in ran.stderr and "is a folder" in ran.stderr, ran
    assert _files(out_dir) == ["x.json"]


@pytest.mark.parametrize("name", ["a;b.tif", "wow!.tif", "tab\there.tif"])
def test_an_output_name_gdal_would_misread_exits_2(name, sarlign, demo_pair, out_dir):
    ran = sarlign("register", *demo_pair, "-o", out_dir / name)
    assert ran.code == 2 and "GDAL reads as syntax" in ran.stderr, ran
    assert _files(out_dir) == []


def test_a_missing_output_folder_exits_2(sarlign, demo_pair, tmp_path):
    ran = sarlign("register", *demo_pair, "-o", tmp_path / "nowhere" / "x.tif")
    assert ran.code == 2 and "does not exist" in ran.stderr, ran
    assert _files(tmp_path) == []


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process cannot write to: a read-only one, or, for root (whom permissions do not stop),
    the kernel's read-only /sys."""
    folder = tmp_path / "readonly"
    folder.mkdir()
    folder.chmod(0o555)
    for candidate in (folder, Path("/sys/kernel")):
        if candidate.is_dir() and _cannot_create_in(candidate):
            return candidate
    pytest.skip("no unwritable folder available to this user")


def _cannot_create_in(folder: Path) -> bool:
    try:
        (folder / ".sarlign-write-test").touch()
    except OSError:
        return True
    (folder / ".sarlign-write-test").unlink()
    return False


def test_an_unwritable_output_folder_exits_2_before_any_matching(sarlign, demo_pair, tmp_path):
    folder = _unwritable_folder(tmp_path)
    ran = sarlign("register", *demo_pair, "-o", folder / "x.tif", "--json")
    assert ran.code == 2 and "cannot be written" in ran.stderr and str(folder) in ran.stderr, ran
    assert "tiles" not in ran.stderr  # no progress: it stopped before matching
    assert ran.json()["status"] == "bad_input"


def test_overwrite_replaces_the_whole_output_set(sarlign, demo_pair, out_dir):
    """A run with --resample --quicklook, then one without: its optional outputs do not stay behind."""
    first = sarlign("register", *demo_pair, "-o", out_dir / "x.tif", "--resample", "--quicklook", "--quiet")
    assert first.code == 0, first
    assert "x_resampled.tif" in _files(out_dir) and "x_checkerboard.png" in _files(out_dir)
    again = sarlign("register", *demo_pair, "-o", out_dir / "x.tif", "--quiet")
    assert again.code == 2 and "--overwrite" in again.stderr
    second = sarlign("register", *demo_pair, "-o", out_dir / "x.tif", "--overwrite", "--quiet")
    assert second.code == 0, second
    assert _files(out_dir) == ["x.gpkg", "x.json", "x.stac.json", "x.tif", "x.tif.points"]


def test_leftovers_of_a_killed_run_are_removed_by_the_next_one(sarlign, demo_pair, out_dir):
    """A run killed with SIGKILL cannot clean up; the next run in the folder removes its temporaries
    (those of a run still going are kept)."""
    dead = subprocess.Popen(["true"])
    dead.wait()
    alive = subprocess.Popen(["sleep", "60"])
    try:
        stale = [out_dir / f".x.{dead.pid}-0badc0de.partial.tif", out_dir / f".x.{dead.pid}-0badc0de.partial.gpkg"]
        for path in stale:
            path.write_bytes(b"half a file")
        (out_dir / f".sarlign-overviews-{dead.pid}-k3j2").mkdir()
        (out_dir / f".sarlign-overviews-{dead.pid}-k3j2" / "level1.tif").write_bytes(b"half")
        running = out_dir / f".y.{alive.pid}-00c0ffee.partial.tif"
        running.write_bytes(b"being written")
        ran = sarlign("register", *demo_pair, "-o", out_dir / "x.tif", "--quiet")
        assert ran.code == 0, ran
        assert _files(out_dir) == [running.name, "x.gpkg", "x.json", "x.stac.json", "x.tif", "x.tif.points"]
    finally:
        alive.kill()


# --- inputs ------------------------------------------------------------------------------------------


def test_a_truncated_sar_exits_2_naming_it(sarlign, demo_pair, out_dir, tmp_path):
    truncated = tmp_path / "truncated.tif"
    truncated.write_bytes(demo_pair[1].read_bytes()[:300_000])
    ran = sarlign("register", demo_pair[0], truncated, "-o", out_dir / "x.tif", "--json")
    assert ran.code == 2 and str(truncated) in ran.stderr and len(ran.lines) == 1, ran
    assert _files(out_dir) == []


@pytest.mark.parametrize("kind", ["folder", "empty", "text"])
def test_an_input_that_is_no_raster_exits_2_naming_it(kind, sarlign, demo_pair, out_dir, tmp_path):
    path = tmp_path / f"sar_{kind}.tif"
    if kind == "folder":
        path.mkdir()
    else:
        path.write_text("" if kind == "empty" else "not a raster\n")
    ran = sarlign("register", demo_pair[0], path, "-o", out_dir / "x.tif")
    assert ran.code == 2 and str(path) in ran.stderr and len(ran.lines) == 1, ran
    assert _files(out_dir) == []


def damaged_sar(demo_sar: Path, path: Path) -> Path:
    """The demo SAR in the middle of a 2048² canvas (same 10 m grid), tiled, with overviews, and one
    full-resolution block inside the overlap overwritten with garbage: the scene-wide statistics (read from
    the overviews) pass, and only a tile read finds the damage."""
    with rasterio.open(demo_sar) as src:
        data, transform, crs = src.read(1), src.transform, src.crs
    canvas = np.zeros((2048, 2048), np.uint8)
    canvas[640:1408, 640:1408] = data
    profile = dict(driver="GTiff", width=2048, height=2048, count=1, dtype="uint8", crs=crs, nodata=0,
                   transform=transform @ Affine.translation(-640, -640), tiled=True, blockxsize=256, blockysize=256,
                   compress="deflate")
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(canvas, 1)
        dst.build_overviews([2, 4, 8], rasterio.enums.Resampling.average)
    with rasterio.open(path) as src:
        offset = int(src.get_tag_item("BLOCK_OFFSET_4_4", "TIFF", bidx=1))
        size = int(src.get_tag_item("BLOCK_SIZE_4_4", "TIFF", bidx=1))
    with open(path, "r+b") as f:
        f.seek(offset)
        f.write(bytes(np.random.default_rng(0).integers(0, 256, size, dtype=np.uint8)))
    return path


def test_damage_found_only_while_reading_a_tile_exits_2_naming_the_file(sarlign, demo_pair, out_dir, tmp_path):
    sar = damaged_sar(demo_pair[1], tmp_path / "damaged.tif")
    ran = sarlign("register", demo_pair[0], sar, "-o", out_dir / "x.tif", "--json")
    assert ran.code == 2 and str(sar) in ran.stderr and "cannot be read at tile" in ran.stderr, ran
    assert len(ran.errors) == 1 and ran.json()["status"] == "bad_input"
    assert _files(out_dir) == []


def test_a_read_error_on_a_worker_process_reaches_the_client_as_bad_input(demo_pair, out_dir, tmp_path):
    """Across process workers too: the error is pickled on the worker and raised again in the client."""
    from sarlign.pipeline.cluster import dask_client
    from sarlign.pipeline.options import RegisterOptions
    from sarlign.pipeline.register import prepare, run

    sar = damaged_sar(demo_pair[1], tmp_path / "damaged.tif")
    job = prepare(str(demo_pair[0]), str(sar), out_dir / "x.tif", RegisterOptions())
    with dask_client(workers=1) as client, pytest.raises(InputError) as raised:
        run(job, client)
    assert raised.value.path == str(sar) and raised.value.exit_code == 2
    assert _files(out_dir) == []


@pytest.mark.parametrize("error", [InputError("/data/x.tif", "damaged"), OptionError("--max-shift", "too large")])
def test_errors_survive_pickling_with_their_exit_code(error):
    import pickle

    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is type(error) and str(copy) == str(error) and copy.exit_code == 2


def test_eval_on_a_folder_without_its_layout_exits_2(sarlign, tmp_path):
    (tmp_path / "pairs").mkdir()
    ran = sarlign("eval", tmp_path)
    assert ran.code == 2 and "volkov_s1s2" in ran.stderr and len(ran.lines) == 1, ran


# --- batches -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["../../escape", "/tmp/absolute", "batch_summary", ".hidden", "sub/dir", "a;b", "-dash", "BATCH_SUMMARY"]
)
def test_a_batch_pair_name_that_would_leave_the_out_dir_or_take_its_files_exits_2(name, sarlign, demo_pair, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"reference,sar,name\n{demo_pair[0]},{demo_pair[1]},ok\n{demo_pair[0]},{demo_pair[1]},{name}\n")
    ran = sarlign("batch", pairs, "--out-dir", tmp_path / "results")
    assert ran.code == 2 and "line 3" in ran.stderr and str(pairs) in ran.stderr, ran
    assert _files(tmp_path) == ["pairs.csv"]  # not even the out dir was made


def test_a_batch_pair_option_that_cannot_work_exits_2_before_the_cluster(sarlign, demo_pair, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"reference,sar,max_shift\n{demo_pair[0]},{demo_pair[1]},-5\n")
    ran = sarlign("batch", pairs, "--out-dir", tmp_path / "results")
    assert ran.code == 2 and "line 2: max_shift" in ran.stderr, ran
    assert _files(tmp_path) == ["pairs.csv"]


def test_a_batch_out_dir_that_is_a_file_exits_2(sarlign, demo_pair, tmp_path):
    pairs = tmp_path / "pairs.csv"
    pairs.write_text(f"reference,sar\n{demo_pair[0]},{demo_pair[1]}\n")
    (tmp_path / "results").write_text("a file")
    ran = sarlign("batch", pairs, "--out-dir", tmp_path / "results")
    assert ran.code == 2 and "is not a folder" in ran.stderr, ran


def test_a_pairs_file_saved_by_excel_is_read(demo_pair, tmp_path):
    """Excel writes CSV as UTF-8 with a byte-order mark before the first column's name."""
    from sarlign.pipeline.pairs_file import read_pairs

    pairs = tmp_path / "pairs.csv"
    pairs.write_bytes(f"\ufeffreference,sar,name\r\n{demo_pair[0]},{demo_pair[1]},demo\r\n".encode())
    [pair] = read_pairs(pairs)
    assert (pair.name, pair.reference, pair.sar) == ("demo", str(demo_pair[0]), str(demo_pair[1]))


def test_batch_keeps_gdal_locations_verbatim_and_names_pairs_after_them(tmp_path):
    from sarlign.pipeline.pairs_file import read_pairs

    pairs = tmp_path / "pairs.csv"
    locations = ["/vsicurl/https://example.com/s1/S1_VV.tif?sig=a%2Fb", "/vsizip//data/p.zip/S1 VH.tif"]
    pairs.write_text("reference,sar\n" + "".join(f"s3://bucket/ref.tif,{loc}\n" for loc in locations))
    read = read_pairs(pairs)
    assert [(p.reference, p.sar) for p in read] == [("s3://bucket/ref.tif", loc) for loc in locations]
    assert [p.name for p in read] == ["S1_VV", "S1 VH"]


# --- GDAL locations ----------------------------------------------------------------------------------


def test_a_sar_inside_a_zip_is_read_by_its_vsizip_location(sarlign, demo_pair, out_dir, tmp_path):
    archive = tmp_path / "product.zip"
    with zipfile.ZipFile(archive, "w") as z:
        z.write(demo_pair[1], "measurement/s1_offset.tif")
    location = f"/vsizip/{archive}/measurement/s1_offset.tif"  # /vsizip//abs/path.zip/...
    ran = sarlign("register", demo_pair[0], location, "-o", out_dir / "x.tif", "--json", "--quiet")
    assert ran.code == 0, ran
    assert ran.json()["inputs"]["sar"]["path"] == location


def test_input_paths_beginning_with_a_dash_are_taken_after_double_dash(sarlign, demo_pair, out_dir, tmp_path, monkeypatch):
    odd = tmp_path / "-sar.tif"
    odd.write_bytes(demo_pair[1].read_bytes())
    monkeypatch.chdir(tmp_path)
    ran = sarlign("register", "-o", out_dir / "x.tif", "--quiet", "--json", "--", demo_pair[0], "-sar.tif")
    assert ran.code == 0, ran
    assert ran.json()["inputs"]["sar"]["path"] == "-sar.tif"


def test_a_sar_over_http_is_read_by_range_requests_and_its_location_kept_verbatim(
    sarlign, demo_pair, out_dir, http_folder
):
    """``/vsicurl/http://…``: GDAL reads the windows it needs by byte ranges; the location reaches the
    report and the STAC Item's ``derived_from`` link as typed (pathlib would have made it ``http:/…``)."""
    url, served, requests = http_folder
    (served / "s1_offset.tif").write_bytes(demo_pair[1].read_bytes())
    location = f"/vsicurl/{url}/s1_offset.tif"
    ran = sarlign("register", demo_pair[0], location, "-o", out_dir / "x.tif", "--json", "--quiet")
    assert ran.code == 0, ran
    assert ran.json()["inputs"]["sar"]["path"] == location
    item = json.loads((out_dir / "x.stac.json").read_text())
    assert location in [link["href"] for link in item["links"] if link["rel"] == "derived_from"]
    reads = [(range_, status) for method, path, range_, status in requests if method == "GET" and path == "/s1_offset.tif"]
    assert reads and all(status == 206 for _, status in reads), requests  # never the whole file at once


# --- interrupting ------------------------------------------------------------------------------------


def test_ctrl_c_stops_quietly_with_exit_130_and_writes_nothing(demo_pair, out_dir):
    """Ctrl-C in a terminal sends SIGINT to sarlign and all its worker processes at once: one line, exit
    130, no traceback from any process, nothing in the output folder. (Small tiles make a job of 144 tiles,
    which runs on worker processes.)"""
    command = [str(Path(sys.executable).parent / "sarlign"), "register", *map(str, demo_pair), "-o",
               str(out_dir / "x.tif"), "--tile-size", "64", "--progress-lines"]
    # SIGINT as a terminal leaves it (a test run started in the background ignores it, and so would sarlign).
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, start_new_session=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    lines = []
    for line in process.stderr:
        lines.append(line)
        if line.startswith("PROGRESS tiles"):
            os.killpg(process.pid, signal.SIGINT)  # the whole process group, as a terminal does
            break
    lines += process.stderr.readlines()
    assert process.wait(timeout=120) == 130, "".join(lines)
    said = [line for line in lines if line.strip() and not line.startswith("PROGRESS")]
    assert len(said) == 1 and said[0].startswith("error: stopped"), "".join(lines)
    assert _files(out_dir) == []


def _file_size_limit(limit_bytes: int) -> None:
    """In a child process: files larger than ``limit_bytes`` cannot be written (EFBIG, as on a full disk:
    the write fails, the process goes on)."""
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit_bytes, resource.getrlimit(resource.RLIMIT_FSIZE)[1]))


def test_outputs_the_file_system_will_not_take_exit_1_in_one_line_leaving_nothing(demo_pair, out_dir):
    """The output raster (about 560 kB) cannot be written past 200 kB, as on a nearly full disk: exit 1, a
    JSON object and one line saying the outputs could not be written, with the space left; no traceback
    of sarlign's, and no file in the folder. (GDAL prints its own lines about the failed writes first.)"""
    command = [str(Path(sys.executable).parent / "sarlign"), "register", *map(str, demo_pair), "-o",
               str(out_dir / "x.tif"), "--json", "--quiet"]
    process = subprocess.run(command, capture_output=True, text=True, timeout=300,
                             preexec_fn=lambda: _file_size_limit(200_000))
    assert process.returncode == 1, process.stderr
    ours = [line for line in process.stderr.splitlines() if line.startswith("error:")]
    assert len(ours) == 1 and "writing the outputs failed" in ours[0] and "MiB free there" in ours[0]
    assert "Traceback" not in process.stderr
    assert json.loads(process.stdout)["status"] == "failed"
    assert _files(out_dir) == []


def test_a_refusal_whose_diagnosis_the_file_system_will_not_take_still_exits_3_saying_so(demo_pair, out_dir):
    """The demo pair's 1 px inlier RMSE refused by --max-rmse 0.5, with no file over 4 kB writable: exit 3,
    the refusal's one line saying its diagnosis could not be written, nothing in the folder."""
    command = [str(Path(sys.executable).parent / "sarlign"), "register", *map(str, demo_pair), "-o",
               str(out_dir / "x.tif"), "--max-rmse", "0.5", "--quiet"]
    process = subprocess.run(command, capture_output=True, text=True, timeout=300,
                             preexec_fn=lambda: _file_size_limit(4_000))
    assert process.returncode == 3, process.stderr
    (line,) = [line for line in process.stderr.splitlines() if line.strip()]
    assert line.startswith("error:") and "inlier RMSE" in line and "its diagnosis could not be written" in line
    assert _files(out_dir) == []
