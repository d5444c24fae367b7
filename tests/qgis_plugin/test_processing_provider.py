"""The QGIS Processing plugin (qgis_plugin/sarlign_processing) in the real QGIS, headless.

The plugin is built with `make qgis-plugin`, unpacked from its ZIP into the profile of a temporary QGIS
configuration folder (QGIS_CUSTOM_CONFIG_PATH), as Plugins → Install from ZIP does, and enabled with
`qgis_process plugins enable`. `qgis_process` then runs its algorithms on the real Volkov pairs with the
SAR georeferenced off by a known shift, and the outputs are opened with PyQGIS (tests/qgis_plugin/
pyqgis_probe.py, run by the Python PyQGIS belongs to). The plugin runs the sarlign installed beside the
Python running these tests, named by SARLIGN_EXECUTABLE.

Skipped where QGIS is not installed (qgis_process.bin, and PyQGIS for the Python beside it or $QGIS_PYTHON),
except under CI (CI=true), where that fails.
"""

import configparser
import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
import rasterio
from affine import Affine

import sarlign

REPO_ROOT = Path(__file__).resolve().parents[2]
PROBE = Path(__file__).with_name("pyqgis_probe.py")
PLUGIN = "sarlign_processing"
VOLKOV = "geotiff/volkov_s1s2_derived/volkov_{}_{}.tif"
SHIFT = (12, -7)  # applied to the SAR geotransform, reference pixels (x, y)
EXPECTED_CORRECTION = (-12.0, 7.0)
TOLERANCE_PX = 5.0  # the Volkov pairs' own alignment is off by about 3 px
PIXEL_M = 10.0  # the Volkov rasters' pixel size (EPSG:3395 metres)
WORKERS = "WORKERS=2"
TIMEOUT_S = 600
GEOPACKAGE_LAYERS = ("tie_points", "tiles")


def _qgis_missing(message: str) -> None:
    """Skip, or fail under CI (CI=true)."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="module")
def qgis_process() -> str:
    """The qgis_process executable (Debian's `qgis_process` wrapper runs `qgis_process.bin`)."""
    found = shutil.which("qgis_process.bin")
    if found is None:
        _qgis_missing("QGIS is not installed: no qgis_process.bin on PATH (`make qgis` installs it)")
    return found


@pytest.fixture(scope="module")
def qgis_python(qgis_process) -> str:
    """The Python PyQGIS belongs to: $QGIS_PYTHON, else the python3 installed beside qgis_process."""
    python = os.environ.get("QGIS_PYTHON") or str(Path(qgis_process).with_name("python3"))
    try:
        check = subprocess.run([python, "-c", "import qgis.core"], capture_output=True, text=True, timeout=TIMEOUT_S)
    except OSError as exc:
        _qgis_missing(f"no Python for PyQGIS at {python}: {exc}")
    if check.returncode:
        _qgis_missing(f"{python} cannot import PyQGIS: {check.stderr.strip()}")
    return python


@pytest.fixture(scope="module")
def plugin_zip(tmp_path_factory) -> Path:
    """The plugin ZIP as `make qgis-plugin` builds it."""
    path = tmp_path_factory.mktemp("dist") / f"{PLUGIN}.zip"
    subprocess.run(["make", "-s", "-C", str(REPO_ROOT), "qgis-plugin", f"PLUGIN_ZIP={path}"], check=True)
    return path


@pytest.fixture(scope="module")
def qgis_env(tmp_path_factory, qgis_process, plugin_zip) -> dict[str, str]:
    """The environment of a QGIS whose configuration folder is temporary, with the plugin installed from its
    ZIP into the default profile and enabled, and SARLIGN_EXECUTABLE naming this environment's sarlign."""
    config = tmp_path_factory.mktemp("qgis-config")
    with zipfile.ZipFile(plugin_zip) as archive:
        archive.extractall(config / "profiles" / "default" / "python" / "plugins")
    sarlign_executable = shutil.which("sarlign", path=str(Path(sys.executable).parent))
    assert sarlign_executable, f"no sarlign executable beside {sys.executable}"
    env = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "QGIS_CUSTOM_CONFIG_PATH": str(config),
        "SARLIGN_EXECUTABLE": sarlign_executable,
    }
    enabled = subprocess.run(
        [qgis_process, "plugins", "enable", PLUGIN], env=env, capture_output=True, text=True, timeout=TIMEOUT_S
    )
    assert enabled.returncode == 0, enabled.stdout + enabled.stderr
    return env


@pytest.fixture(scope="module")
def qgis(qgis_process, qgis_env):
    """``qgis(*arguments, env=None, cwd=None)``: run qgis_process (in ``qgis_env`` unless ``env`` is given)."""

    def run(*arguments: str, env: dict | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess:
        return subprocess.run(
            [qgis_process, *arguments], env=env or qgis_env, capture_output=True, text=True, timeout=TIMEOUT_S, cwd=cwd
        )

    return run


@pytest.fixture(scope="module")
def probe(qgis_python, qgis_env):
    """``probe(mode, *arguments)``: the JSON pyqgis_probe.py prints (see its docstring)."""

    def run(mode: str, *arguments: str) -> dict:
        done = subprocess.run(
            [qgis_python, str(PROBE), mode, *arguments], env=qgis_env, capture_output=True, text=True, timeout=TIMEOUT_S
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return json.loads(done.stdout.strip().splitlines()[-1])

    return run


def _shifted_sar(scene: str, destination: Path, shared_file, shifted_copy) -> Path:
    return shifted_copy(shared_file(VOLKOV.format(scene, "sar")), destination, lambda t: t @ Affine.translation(*SHIFT))


@pytest.fixture(scope="module")
def volkov(tmp_path_factory, shared_file, shifted_copy) -> dict[str, Path]:
    """The Volkov 101 reference and its SAR georeferenced ``SHIFT`` off."""
    work = tmp_path_factory.mktemp("volkov")
    return {
        "reference": shared_file(VOLKOV.format("101", "opt")),
        "sar": _shifted_sar("101", work / "sar_shifted.tif", shared_file, shifted_copy),
        "work": work,
    }


def _register_parameters(volkov: dict[str, Path], output: Path) -> list[str]:
    return [f"REFERENCE={volkov['reference']}", f"SAR={volkov['sar']}", f"OUTPUT={output}", WORKERS]


def _results(stdout: str) -> dict[str, str]:
    """The 'Results' section qgis_process prints: NAME: value lines."""
    section = stdout.split("Results\n----------------\n", 1)[-1]
    return dict(line.split(":\t", 1) for line in section.splitlines() if ":\t" in line)


@pytest.fixture(scope="module")
def registered(qgis, volkov) -> dict:
    """One qgis_process run of sarlign:register on the shifted Volkov 101 pair (into a folder not yet made),
    with quicklooks."""
    output = volkov["work"] / "out" / "registered.tif"
    result = qgis("run", "sarlign:register", "--", *_register_parameters(volkov, output), "QUICKLOOK=true")
    assert result.returncode == 0, result.stdout + result.stderr
    return {"result": result, "output": output, "report": json.loads(output.with_suffix(".json").read_text())}


@pytest.fixture(scope="module")
def layers(registered, volkov, probe) -> dict:
    """What QGIS makes of the outputs and of the inputs (pyqgis_probe.py layers)."""
    gpkg = registered["output"].with_suffix(".gpkg")
    uris = {
        "output": str(registered["output"]),
        "reference": str(volkov["reference"]),
        **{name: f"{gpkg}|layername={name}" for name in GEOPACKAGE_LAYERS},
    }
    found = probe("layers", *uris.values())
    return {key: found[uri] for key, uri in uris.items()}


def test_plugin_zip_holds_the_plugin_folder(plugin_zip):
    with zipfile.ZipFile(plugin_zip) as archive:
        names = archive.namelist()
        metadata = configparser.ConfigParser(interpolation=None)
        metadata.read_string(archive.read(f"{PLUGIN}/metadata.txt").decode("utf-8"))
    assert all(name.startswith(f"{PLUGIN}/") for name in names), names
    assert f"{PLUGIN}/__init__.py" in names and not any("__pycache__" in name for name in names)
    general = metadata["general"]
    assert general["version"] == sarlign.__version__
    assert general["hasProcessingProvider"] == "yes" and general["qgisMinimumVersion"] == "3.22"
    assert general["author"] == "sarlign contributors"


def test_algorithms_are_listed(qgis):
    listed = qgis("list")
    assert listed.returncode == 0, listed.stderr
    assert "sarlign:register" in listed.stdout and "sarlign:batch" in listed.stdout


@pytest.mark.parametrize(
    "algorithm, names",
    [
        ("sarlign:register", ["REFERENCE", "SAR", "REFERENCE_PRODUCT", "SAR_PRODUCT", "REFERENCE_BANDS", "SAR_BAND",
                              "OUTPUT", "MATCHER", "TRANSFORM", "RESAMPLE", "QUICKLOOK", "MAX_SHIFT", "WORKERS",
                              "TIE_POINTS", "REPORT", "DISPLACEMENT"]),
        ("sarlign:batch", ["PAIRS", "OUT_DIR", "MATCHER", "TRANSFORM", "WORKERS", "SUMMARY"]),
    ],
)
def test_algorithm_help_lists_parameters_and_outputs(qgis, algorithm, names):
    shown = qgis("help", algorithm)
    assert shown.returncode == 0, shown.stderr
    assert all(f"{name}:" in shown.stdout for name in names), shown.stdout
    assert "learned-dense" in shown.stdout and "translation" in shown.stdout


def test_register_recovers_the_shift_reporting_progress_to_100(registered):
    result, output, report = registered["result"], registered["output"], registered["report"]
    assert "...90...100" in result.stdout  # qgis_process's progress bar, driven by sarlign's progress lines
    dx, dy = report["correction"]["shift_px"]
    assert abs(dx - EXPECTED_CORRECTION[0]) < TOLERANCE_PX and abs(dy - EXPECTED_CORRECTION[1]) < TOLERANCE_PX
    gpkg, report_path = output.with_suffix(".gpkg"), output.with_suffix(".json")
    written = report["outputs"]
    assert written["raster"] == str(output) and written["tie_points"] == str(gpkg)
    assert {"checkerboard", "residual_map", "field_map"} <= set(written) and all(Path(p).exists() for p in written.values())
    assert _results(result.stdout) == {
        "OUTPUT": str(output),
        "TIE_POINTS": f"{gpkg}|layername=tie_points",
        "REPORT": str(report_path),
    }


def _bounds(transform: Affine, width: int, height: int) -> list[float]:
    """[xmin, ymin, xmax, ymax] of a raster's four corners."""
    xs, ys = zip(*(transform @ corner for corner in ((0, 0), (width, 0), (0, height), (width, height))))
    return [min(xs), min(ys), max(xs), max(ys)]


def test_output_raster_opens_in_the_sar_crs_moved_by_the_correction(layers, registered, volkov):
    raster, report = layers["output"], registered["report"]
    with rasterio.open(volkov["sar"]) as sar:
        crs, size, old_bounds = sar.crs.to_string(), (sar.width, sar.height), list(sar.bounds)
        assert report["geotransform"]["old"] == pytest.approx(list(sar.transform.to_gdal()))
    assert raster["valid"] and raster["crs"] == crs
    # The corners of the new geotransform, to within a pixel: QGIS shows a raster whose geotransform rotates
    # (an affine fit does, slightly) through GDAL's warped view, whose extent is snapped to its own grid.
    new_bounds = _bounds(Affine.from_gdal(*report["geotransform"]["new"]), *size)
    assert raster["extent"] == pytest.approx(new_bounds, abs=PIXEL_M)
    # The extent moved by the correction, as the report gives it at the scene centre (metres east, north).
    moved = [(raster["extent"][i] + raster["extent"][i + 2] - old_bounds[i] - old_bounds[i + 2]) / 2 for i in (0, 1)]
    assert moved == pytest.approx(report["correction"]["shift_m"], abs=PIXEL_M)


def test_tie_points_and_tiles_open_in_the_reference_crs_inside_it(layers):
    reference = layers["reference"]
    for name in GEOPACKAGE_LAYERS:
        layer = layers[name]
        assert layer["valid"] and layer["crs"] == reference["crs"] == "EPSG:3395", (name, layer)
    xmin, ymin, xmax, ymax = layers["tie_points"]["extent"]
    rxmin, rymin, rxmax, rymax = reference["extent"]
    assert rxmin <= xmin < xmax <= rxmax and rymin <= ymin < ymax <= rymax


def test_geopackage_layers_carry_default_styles_qgis_applies(layers, registered):
    with sqlite3.connect(registered["output"].with_suffix(".gpkg")) as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        assert "layer_styles" in tables, f"no layer_styles table in the GeoPackage (tables: {sorted(tables)})"
        styled = {row[0] for row in db.execute("SELECT f_table_name FROM layer_styles WHERE useAsDefault = 1")}
    assert set(GEOPACKAGE_LAYERS) <= styled
    for name in GEOPACKAGE_LAYERS:
        layer = layers[name]
        assert layer["styles_of_layer"] >= 1, (name, layer)
        assert layer["default_style_renderer"] is not None and layer["renderer"] == layer["default_style_renderer"]


def test_layers_are_loaded_with_the_raster(volkov, probe):
    """Run with the output bound for a project (the dialog's 'Open output file'), the GeoPackage's layers are
    loaded with the raster."""
    output = volkov["work"] / "loaded" / "registered.tif"
    parameters = {"REFERENCE": str(volkov["reference"]), "SAR": str(volkov["sar"]), "OUTPUT": str(output), "WORKERS": 2}
    to_load = probe("load", json.dumps(parameters))
    gpkg = output.with_suffix(".gpkg")
    assert str(output) in to_load
    for name in GEOPACKAGE_LAYERS:
        assert to_load[f"{gpkg}|layername={name}"] == [f"registered {name}", name]


def test_the_resampled_output_is_loaded_too_when_there_is_one(volkov, probe):
    output = volkov["work"] / "loaded_local" / "registered.tif"
    parameters = {"REFERENCE": str(volkov["reference"]), "SAR": str(volkov["sar"]), "OUTPUT": str(output),
                  "RESAMPLE": True, "WORKERS": 2}
    to_load = probe("load", json.dumps(parameters))
    resampled = output.with_name("registered_resampled.tif")
    assert to_load[str(resampled)] == ["registered resampled", "resampled"]


def test_a_local_field_s_displacement_is_loaded_and_qgis_reads_the_values_sarlign_wrote(volkov, probe):
    output = volkov["work"] / "loaded_field" / "registered.tif"
    parameters = {"REFERENCE": str(volkov["reference"]), "SAR": str(volkov["sar"]), "OUTPUT": str(output),
                  "TRANSFORM": "local", "WORKERS": 2}
    to_load = probe("load", json.dumps(parameters))
    displacement = output.with_name("registered_displacement.tif")
    assert to_load[str(displacement)] == ["registered displacement", "displacement"]
    seen = probe("layers", str(displacement))[str(displacement)]
    field = json.loads(output.with_suffix(".json").read_text())["field"]
    with rasterio.open(displacement) as written:
        assert seen["valid"] and seen["crs"] == written.crs.to_string() and seen["bands"] == 3
        assert seen["extent"] == pytest.approx(list(written.bounds))
        values = [float(v) for v in written.read()[:, written.height // 2, written.width // 2]]
        length = np.hypot(*written.read([1, 2]))
    assert seen["centre_values"] == pytest.approx(values, rel=1e-6, nan_ok=True)
    assert float(np.nanmax(length)) == pytest.approx(field["displacement_max"], rel=1e-5)


def test_cancel_stops_sarlign_and_its_workers(volkov, probe):
    output = volkov["work"] / "cancelled" / "registered.tif"
    parameters = {"REFERENCE": str(volkov["reference"]), "SAR": str(volkov["sar"]), "OUTPUT": str(output), "WORKERS": 2}
    outcome = probe("cancel", json.dumps(parameters))
    assert outcome["error"] and "cancelled" in outcome["error"], outcome
    assert len(outcome["session_at_cancel"]) > 2, outcome  # sarlign and its two workers at least
    assert outcome["left_alive"] == [], outcome
    assert outcome["seconds_to_stop"] < 15, outcome
    assert not output.exists()


def test_sar_that_does_not_overlap_fails_with_sarlign_message(qgis, volkov, shifted_copy):
    far = shifted_copy(volkov["sar"], volkov["work"] / "sar_far.tif", lambda t: Affine.translation(500_000, 0) @ t)
    output = volkov["work"] / "far" / "registered.tif"
    result = qgis("run", "sarlign:register", "--", *_register_parameters({**volkov, "sar": far}, output))
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert "bad input (exit status 2)" in said and f"{far}: does not overlap the reference" in said, said
    assert not output.exists()


def test_a_path_beginning_with_a_dash_reaches_sarlign_as_a_path(qgis, volkov, shifted_copy):
    """The plugin passes input paths after ``--``: "-far.tif" is a file, not an option."""
    shifted_copy(volkov["sar"], volkov["work"] / "-far.tif", lambda t: Affine.translation(500_000, 0) @ t)
    output = volkov["work"] / "dash" / "registered.tif"
    parameters = _register_parameters({**volkov, "sar": Path("-far.tif")}, output)
    result = qgis("run", "sarlign:register", "--", *parameters, cwd=volkov["work"])
    said = result.stdout + result.stderr
    assert result.returncode != 0 and "does not overlap the reference" in said and "-far.tif" in said, said
    assert "No such option" not in said


def _without_sarlign_on_path(env: dict[str, str]) -> dict[str, str]:
    """``env`` without SARLIGN_EXECUTABLE and with no folder holding a sarlign executable on PATH."""
    folders = [f for f in env["PATH"].split(os.pathsep) if not shutil.which("sarlign", path=f)]
    return {**{k: v for k, v in env.items() if k != "SARLIGN_EXECUTABLE"}, "PATH": os.pathsep.join(folders)}


def test_missing_sarlign_executable_is_a_clear_error(qgis, qgis_env, volkov):
    result = qgis("run", "sarlign:register", "--", *_register_parameters(volkov, volkov["work"] / "none.tif"),
                  env=_without_sarlign_on_path(qgis_env))
    assert result.returncode != 0
    assert "sarlign executable not found" in result.stdout + result.stderr


def test_executable_setting_comes_before_the_environment_variable(qgis, qgis_env, volkov, tmp_path):
    """The provider's Processing setting is read first (here it names a file that is not there)."""
    config = tmp_path / "qgis-config"
    shutil.copytree(qgis_env["QGIS_CUSTOM_CONFIG_PATH"], config)
    ini = config / "profiles" / "default" / "QGIS" / "QGIS3.ini"
    settings = configparser.ConfigParser(interpolation=None)
    settings.optionxform = str  # QGIS's keys are case-sensitive
    settings.read(ini)
    missing = tmp_path / "no-such-sarlign"
    if not settings.has_section("Processing"):
        settings.add_section("Processing")
    settings["Processing"]["Configuration\\SARLIGN_EXECUTABLE"] = str(missing)
    with open(ini, "w") as f:
        settings.write(f, space_around_delimiters=False)
    result = qgis("run", "sarlign:register", "--", *_register_parameters(volkov, tmp_path / "none.tif"),
                  env={**qgis_env, "QGIS_CUSTOM_CONFIG_PATH": str(config)})
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert f"the Processing setting 'sarlign executable' names '{missing}'" in said, said


def test_batch_registers_the_pairs_of_a_csv(qgis, volkov, shared_file, shifted_copy):
    work = volkov["work"] / "batch"
    work.mkdir()
    rows = [
        {"reference": str(volkov["reference"]), "sar": str(volkov["sar"]), "name": "v101"},
        {
            "reference": str(shared_file(VOLKOV.format("253", "opt"))),
            "sar": str(_shifted_sar("253", work / "sar_253_shifted.tif", shared_file, shifted_copy)),
            "name": "v253",
        },
    ]
    pairs = work / "pairs.csv"
    with open(pairs, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=["reference", "sar", "name"])
        writer.writeheader()
        writer.writerows(rows)
    out_dir = work / "results"
    result = qgis("run", "sarlign:batch", "--", f"PAIRS={pairs}", f"OUT_DIR={out_dir}", "TRANSFORM=translation", WORKERS)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "...90...100" in result.stdout
    summary = out_dir / "batch_summary.csv"
    assert _results(result.stdout) == {"SUMMARY": str(summary), "OUT_DIR": str(out_dir)}
    with open(summary, newline="") as f:
        written = {row["name"]: row for row in csv.DictReader(f)}
    assert set(written) == {"v101", "v253"}
    for row in written.values():
        assert row["status"] == "done", row
        shift = float(row["shift_x_px"]), float(row["shift_y_px"])
        assert all(abs(got - want) < TOLERANCE_PX for got, want in zip(shift, EXPECTED_CORRECTION)), row
        assert json.loads((out_dir / f"{row['name']}.json").read_text())["transform"] == "translation"


def test_batch_with_a_failed_pair_fails_naming_it(qgis, volkov):
    work = volkov["work"] / "batch-broken"
    work.mkdir()
    (work / "broken.tif").write_bytes(b"not a GeoTIFF, cut off in transfer")
    pairs = work / "pairs.csv"
    pairs.write_text(f"reference,sar\n{volkov['reference']},broken.tif\n")
    out_dir = work / "results"
    result = qgis("run", "sarlign:batch", "--", f"PAIRS={pairs}", f"OUT_DIR={out_dir}", WORKERS)
    assert result.returncode != 0
    said = result.stdout + result.stderr
    assert f"1 of 1 pairs failed (every pair's status is in {out_dir / 'batch_summary.csv'})" in said, said
    assert "broken: " in said and "broken.tif" in said, said


def test_sentinel_products_register_as_their_plain_pixels_do(qgis, demo_products, tmp_path):
    """A Sentinel-2 L2A product (its MTD_MSIL2A.xml) and a zipped Sentinel-1 GRD product, given as product
    files with bands by name, give what the same pixels give as plain GeoTIFF layers."""
    runs = {
        "product": [f"REFERENCE_PRODUCT={demo_products.s2_l2a / 'MTD_MSIL2A.xml'}", f"SAR_PRODUCT={demo_products.s1_zip}",
                    "REFERENCE_BANDS=B04,B03,B02", "SAR_BAND=VV"],
        "plain": [f"REFERENCE={demo_products.reference_tif}", f"SAR={demo_products.sar_tif}"],
    }
    reports = {}
    for name, parameters in runs.items():
        output = tmp_path / name / "registered.tif"
        result = qgis("run", "sarlign:register", "--", *parameters, f"OUTPUT={output}")
        assert result.returncode == 0, result.stdout + result.stderr
        reports[name] = json.loads(output.with_suffix(".json").read_text())
    shifts = [reports[name]["correction"]["shift_px"] for name in runs]
    assert all(abs(a - b) < 0.5 for a, b in zip(*shifts)), shifts
    assert reports["product"]["inputs"]["sar"]["product"]["polarization"] == "VV"


def test_an_input_given_twice_or_not_at_all_is_a_clear_error(qgis, demo_products, tmp_path):
    output = f"OUTPUT={tmp_path / 'x.tif'}"
    both = qgis("run", "sarlign:register", "--", f"REFERENCE={demo_products.reference_tif}",
                f"REFERENCE_PRODUCT={demo_products.s2_l1c_zip}", f"SAR_PRODUCT={demo_products.s1_zip}", output)
    assert both.returncode != 0 and "give REFERENCE or REFERENCE_PRODUCT, not both" in both.stdout + both.stderr
    neither = qgis("run", "sarlign:register", "--", f"REFERENCE={demo_products.reference_tif}", output)
    assert neither.returncode != 0 and "SAR: give a raster layer, or a product file as SAR_PRODUCT" in neither.stdout + neither.stderr


def test_the_plugin_offers_sarlign_s_transforms_and_matchers():
    """The plugin cannot import sarlign (QGIS's Python need not carry it), so its lists are written out;
    they must stay sarlign's."""
    import ast
    from typing import get_args

    from sarlign.georef.gates import TransformKind
    from sarlign.models import registry

    source = (REPO_ROOT / "qgis_plugin" / PLUGIN / "algorithm.py").read_text()
    lists = {node.targets[0].id: ast.literal_eval(node.value) for node in ast.parse(source).body
             if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") in ("TRANSFORMS", "MATCHERS")}
    assert lists["TRANSFORMS"] == get_args(TransformKind)
    assert set(lists["MATCHERS"]) == set(registry.available())
