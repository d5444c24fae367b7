"""`sarlign batch` on a local cluster of 2 worker processes: six real pairs and one corrupt one, then a rerun.

The pairs are the real Volkov 101 and 253 scenes with the SAR georeferenced off by known shifts (the
datasets' own alignment is off by about 3 px, so recovered shifts are checked to within 5 px).
"""

import csv
import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import pytest
from affine import Affine
from typer.testing import CliRunner

from sarlign.errors import InputError
from sarlign.pipeline.batch import pair_threads, run_batch
from sarlign.pipeline.cli import app
from sarlign.pipeline.cluster import dask_client
from sarlign.pipeline.options import RegisterOptions
from sarlign.pipeline.pairs_file import BatchPair, read_pairs

VOLKOV = "geotiff/volkov_s1s2_derived/volkov_{}_{}.tif"
SHIFTS = [(12, -7), (-9, 4), (5, 15)]  # applied to the SAR geotransform, reference pixels (x, y)
TOLERANCE_PX = 5.0


def _batch(pairs_csv, out_dir, *options):
    return CliRunner().invoke(app, ["batch", str(pairs_csv), "--out-dir", str(out_dir), "--workers", "2", "--quiet", *options])


def _summary(out_dir) -> dict[str, dict]:
    with open(out_dir / "batch_summary.csv", newline="") as f:
        return {row["name"]: row for row in csv.DictReader(f)}


@pytest.fixture(scope="module")
def batch_runs(tmp_path_factory, shared_file, shifted_copy):
    """Two runs of one batch: six good pairs (relative paths) and one whose SAR is not a raster."""
    work = tmp_path_factory.mktemp("batch")
    rows, expected = [], {}
    for scene in ("101", "253"):
        reference = shared_file(VOLKOV.format(scene, "opt"))
        for dx, dy in SHIFTS:
            name = f"v{scene}_{dx:+d}_{dy:+d}"
            shifted_copy(shared_file(VOLKOV.format(scene, "sar")), work / f"{name}.tif", lambda t: t @ Affine.translation(dx, dy))
            rows.append({"reference": str(reference), "sar": f"{name}.tif", "name": name, "transform": ""})
            expected[name] = (-dx, -dy)
    rows[-1]["transform"] = "translation"  # a per-pair option
    (work / "broken.tif").write_bytes(b"not a GeoTIFF, cut off in transfer")
    rows.append({"reference": str(reference), "sar": "broken.tif", "name": "", "transform": ""})
    pairs_csv = work / "pairs.csv"
    with open(pairs_csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["reference", "sar", "name", "transform"])
        writer.writeheader()
        writer.writerows(rows)
    out_dir = work / "results"
    first = _batch(pairs_csv, out_dir)
    first_summary = _summary(out_dir)
    stamps = {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir() if not p.name.startswith("batch")}
    second = _batch(pairs_csv, out_dir)
    return {"first": first, "first_summary": first_summary, "second": second, "out_dir": out_dir,
            "expected": expected, "stamps": stamps, "pairs_csv": pairs_csv, "translation_pair": rows[-2]["name"]}


def test_every_good_pair_is_registered_and_the_corrupt_one_is_reported(batch_runs):
    summary = batch_runs["first_summary"]
    assert batch_runs["first"].exit_code == 1  # a pair failed
    assert summary["broken"]["status"] == "failed"
    assert "broken.tif" in summary["broken"]["error"]
    assert "broken: failed" in (batch_runs["out_dir"] / "batch.log").read_text()
    for name, (x, y) in batch_runs["expected"].items():
        row = summary[name]
        assert row["status"] == "done", row
        assert abs(float(row["shift_x_px"]) - x) < TOLERANCE_PX and abs(float(row["shift_y_px"]) - y) < TOLERANCE_PX
        report = json.loads((batch_runs["out_dir"] / f"{name}.json").read_text())
        assert report["status"] == "ok" and (batch_runs["out_dir"] / f"{name}.gpkg").is_file()
        assert report["transform"] == ("translation" if name == batch_runs["translation_pair"] else "affine")


def test_a_rerun_does_no_work_on_completed_pairs(batch_runs):
    out_dir = batch_runs["out_dir"]
    summary = _summary(out_dir)
    assert batch_runs["second"].exit_code == 1  # the corrupt pair fails again
    assert {summary[name]["status"] for name in batch_runs["expected"]} == {"complete"}
    assert {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir() if not p.name.startswith("batch")} == batch_runs["stamps"]
    assert not [p for p in out_dir.iterdir() if ".partial" in p.name]


def test_a_rerun_redoes_a_pair_whose_output_was_lost(batch_runs, tmp_path):
    out_dir = batch_runs["out_dir"]
    lost = next(iter(batch_runs["expected"]))
    (out_dir / f"{lost}.gpkg").unlink()
    pairs_csv = tmp_path / "one.csv"
    report = json.loads((out_dir / f"{lost}.json").read_text())
    pairs_csv.write_text(f"reference,sar,name\n{report['inputs']['reference']['path']},{report['inputs']['sar']['path']},{lost}\n")
    assert _batch(pairs_csv, out_dir).exit_code == 0
    assert _summary(out_dir)[lost]["status"] == "done"
    assert (out_dir / f"{lost}.gpkg").is_file()


@pytest.mark.parametrize(
    "text, problem",
    [
        ("sar,name\na.tif,a\n", "lacks the column(s) reference"),
        ("reference,sar,colour\na.tif,b.tif,red\n", "unknown column 'colour'"),
        ("reference,sar,workers\na.tif,b.tif,2\n", "--workers applies to the whole batch"),
        ("reference,sar,max_rotation\na.tif,b.tif,90\n", "line 2: max_rotation (its column): must be above 0 and at most 45°"),
        ("reference,sar,resample\na.tif,b.tif,maybe\n", "line 2: resample 'maybe': expected true or false"),
        ("reference,sar\na.tif,\n", "line 2"),
        ("reference,sar,name\na.tif,b.tif,x\nc.tif,d.tif,x\n", "repeated: x"),
        ("reference,sar\n", "has no pairs"),
        ("reference,sar,max_shift\na.tif,b.tif,far\n", "line 2: max_shift 'far'"),
        ("reference,sar,matcher\na.tif,b.tif,sift\n", "line 2: matcher (its column): unknown matcher 'sift'"),
    ],
)
def test_a_bad_pairs_file_is_refused_with_its_problem(tmp_path, text, problem):
    pairs_csv = tmp_path / "pairs.csv"
    pairs_csv.write_text(text)
    with pytest.raises(InputError, match="pairs.csv") as raised:
        read_pairs(pairs_csv)
    assert problem in str(raised.value)


def test_per_pair_options_are_parsed_and_empty_cells_keep_the_batch_s_values(tmp_path):
    pairs_csv = tmp_path / "pairs.csv"
    pairs_csv.write_text("reference,sar,reference_bands,sar_nodata,search_budget,max_scale_change,resample,matcher_option\n"
                         'r.tif,s.tif,"2,3,4",-9999,0,3,yes,template=128;stride=32\nr.tif,t.tif,,,,,,\n')
    first, second = read_pairs(pairs_csv, {"max_rotation": 2.0, "search_budget": 1000})
    assert (first.options.reference_bands, first.options.sar_nodata, first.options.search_budget) == (("2", "3", "4"), -9999.0, None)
    assert (first.options.gates.max_scale_change, first.options.gates.max_rotation_deg, first.options.resample) == (0.03, 2.0, True)
    assert first.options.matcher_options == (("template", 128), ("stride", 32))
    assert second.options == RegisterOptions(search_budget=1000, gates=replace(RegisterOptions().gates, max_rotation_deg=2.0))


def _reported(out_dir: Path) -> set[str]:
    """Names of the pairs whose report (NAME.json, not the NAME.stac.json beside it) is in ``out_dir``."""
    return {p.stem for p in out_dir.glob("v*.json") if not p.name.endswith(".stac.json")}


def test_sigterm_stops_a_batch_cleanly_and_the_next_run_resumes(batch_runs, tmp_path):
    """A job's time limit (SIGTERM) mid-batch: non-zero exit, no partial files, and a rerun finishes the rest."""
    out_dir = tmp_path / "results"
    command = [str(Path(sys.executable).parent / "sarlign"), "batch", str(batch_runs["pairs_csv"]), "--out-dir", str(out_dir),
               "--workers", "2", "--pairs-in-flight", "1", "--quiet"]
    process = subprocess.Popen(command)
    while process.poll() is None and not _reported(out_dir):
        time.sleep(0.1)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=60) == 130
    finished_before = _reported(out_dir)
    assert finished_before and len(finished_before) < len(batch_runs["expected"])
    assert not [p for p in out_dir.iterdir() if ".partial" in p.name]
    stopped = _summary(out_dir)  # written on the interrupt: every pair as it stood, none failed for it
    assert {n for n in batch_runs["expected"] if stopped[n]["status"] in ("done", "complete")} == finished_before
    assert {stopped[n]["status"] for n in batch_runs["expected"] if n not in finished_before} == {"interrupted"}
    assert "Cancelled" not in (out_dir / "batch.log").read_text()
    assert _batch(batch_runs["pairs_csv"], out_dir).exit_code == 1  # the corrupt pair
    summary = _summary(out_dir)
    assert {n for n in batch_runs["expected"] if summary[n]["status"] == "complete"} == finished_before
    assert {summary[n]["status"] for n in batch_runs["expected"]} <= {"complete", "done"}


def test_names_default_to_the_sar_stem_and_relative_paths_to_the_csv_folder(tmp_path):
    pairs_csv = tmp_path / "pairs.csv"
    pairs_csv.write_text("reference,sar\nref.tif,/vsis3/bucket/s1_vv.tif\n")
    (pair,) = read_pairs(pairs_csv)
    assert (pair.name, pair.reference, pair.sar) == ("s1_vv", str(tmp_path / "ref.tif"), "/vsis3/bucket/s1_vv.tif")


def test_a_worker_killed_mid_batch_loses_nothing(batch_runs, tmp_path):
    """Kill one worker process (SIGKILL, by its pid) while tiles are running: Dask reruns its tiles on the
    others and the nanny restarts it; every output comes out as in the undisturbed run."""
    names = [n for n in batch_runs["expected"] if n.startswith("v101")][:2]
    undisturbed = {n: json.loads((batch_runs["out_dir"] / f"{n}.json").read_text()) for n in names}
    pairs = [BatchPair(n, undisturbed[n]["inputs"]["reference"]["path"], undisturbed[n]["inputs"]["sar"]["path"]) for n in names]
    with pair_threads(2) as threads, dask_client(workers=2) as client, ThreadPoolExecutor(1) as pool:
        victim = next(iter(client.run(os.getpid).values()))
        batch = pool.submit(run_batch, pairs, tmp_path, client, threads, {})
        while not any(client.processing().values()):
            time.sleep(0.05)
        time.sleep(1.0)  # a few tiles in: some done, some running
        os.kill(victim, signal.SIGKILL)
        summaries = batch.result(timeout=300)
        assert victim not in client.run(os.getpid).values()  # the kill landed; the nanny started a new process
    assert [s.status for s in summaries] == ["done", "done"]
    for name in names:
        report = json.loads((tmp_path / f"{name}.json").read_text())
        assert report["correction"] == undisturbed[name]["correction"]
        assert report["geotransform"]["new"] == undisturbed[name]["geotransform"]["new"]


def test_the_example_pairs_file_in_workflows_reads():
    pairs = read_pairs(Path(__file__).resolve().parents[2] / "workflows" / "pairs.csv")
    assert [p.options.max_shift for p in pairs] == [40, 40, 80]
    assert pairs[2].sar.startswith("/vsis3/")


def test_a_run_with_quicklook_redoes_a_pair_completed_without_them_and_the_summary_links_them(batch_runs, tmp_path):
    """Runs after the fixture's: a pair of it gets its quicklooks, linked by name (relative to the out dir)."""
    out_dir = batch_runs["out_dir"]
    name = next(n for n in batch_runs["expected"] if n.startswith("v253"))
    report = json.loads((out_dir / f"{name}.json").read_text())
    pairs_csv = tmp_path / "one.csv"
    pairs_csv.write_text(f"reference,sar,name\n{report['inputs']['reference']['path']},{report['inputs']['sar']['path']},{name}\n")
    links = {"checkerboard": f"{name}_checkerboard.png", "residual_map": f"{name}_residuals.png",
             "field_map": f"{name}_field.png"}
    assert _batch(pairs_csv, out_dir, "--quicklook").exit_code == 0
    row = _summary(out_dir)[name]
    assert row["status"] == "done" and {k: row[k] for k in links} == links
    assert all((out_dir / path).is_file() for path in links.values())
    assert _batch(pairs_csv, out_dir).exit_code == 0  # a later run without --quicklook: complete, still linked
    (pair,) = json.loads((out_dir / "batch_summary.json").read_text())["pairs"]
    assert pair["status"] == "complete" and {k: pair[k] for k in links} == links
