"""The command line's contract under random input (hypothesis): whatever a user passes, sarlign exits 0,
2 or 3; a failure says why in one ``error:`` line, without a traceback; and nothing is written outside the
output folder, which holds either a complete output set or a refusal's diagnosis, nothing else.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import rasterio
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from rasterio.windows import Window

from sarlign.pipeline.cli import run_command_line

SAMPLE = Path(__file__).resolve().parents[2] / "data" / "sample"
RESULT = {"x.tif", "x.json", "x.gpkg", "x.tif.points", "x.stac.json", "x_resampled.tif", "x_checkerboard.png",
          "x_residuals.png", "x_field.png"}
DIAGNOSIS = {"x.failed.json"}

numbers = st.one_of(
    st.integers(-(10**7), 10**7).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
    st.sampled_from(["0", "1", "3", "40", "512", "1e309", "-0", ""]),
)
words = st.one_of(st.text(min_size=0, max_size=12), st.sampled_from(["cfog", "affine", "translation", "auto", "db", "cpu"]))
OPTIONS = {
    "--max-shift": numbers, "--tile-size": numbers, "--tile-overlap": numbers, "--search-budget": numbers,
    "--min-inliers": numbers, "--max-rmse": numbers, "--inlier-threshold": numbers, "--max-rotation": numbers,
    "--max-scale-change": numbers, "--min-valid": numbers, "--min-structure": numbers, "--sar-band": numbers,
    "--sar-nodata": numbers, "--workers": numbers, "--reference-bands": words, "--sar-scale": words,
    "--transform": words, "--matcher": words, "--device": words,
    "--matcher-option": st.tuples(st.sampled_from(["template", "stride", "search", "min_peak", "foo", ""]), numbers)
    .map(lambda kv: f"{kv[0]}={kv[1]}"),
}
FLAGS = ["--resample", "--quicklook", "--verify", "--overwrite", "--json", "--quiet"]


def _small_pair(folder: Path) -> tuple[Path, Path]:
    """A 256² px crop of the demo pair (one tile), so that runs the random options allow stay short."""
    paths = []
    for name in ("s2_reference.tif", "s1_offset.tif"):
        with rasterio.open(SAMPLE / name) as src:
            window = Window(256, 256, 256, 256)
            profile = dict(src.profile, width=256, height=256, transform=src.window_transform(window))
            data = src.read(window=window)
        with rasterio.open(folder / name, "w", **profile) as dst:
            dst.write(data)
        paths.append(folder / name)
    return paths[0], paths[1]


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def _check_contract(code: int, err: str, before: set[str], root: Path, out: Path) -> None:
    event(f"exit {code}")  # shown by --hypothesis-show-statistics
    assert code in (0, 2, 3), (code, err)
    assert "Traceback" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == (0 if code == 0 else 1), err
    outside = {p for p in _tree(root) - before if not p.startswith(out.name)}
    assert not outside, outside
    written = {p.name for p in out.iterdir()}
    assert written <= (RESULT if code == 0 else DIAGNOSIS), written
    if code == 0:
        assert {"x.tif", "x.json", "x.gpkg", "x.tif.points", "x.stac.json"} <= written


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    chosen=st.dictionaries(st.sampled_from(sorted(OPTIONS)), st.just(None), min_size=1, max_size=3),
    flags=st.lists(st.sampled_from(FLAGS), max_size=2, unique=True),
    data=st.data(),
)
def test_random_option_values_keep_the_contract(chosen, flags, data, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        reference, sar = _small_pair(root)
        out = root / "out"
        out.mkdir()
        arguments = ["register", str(reference), str(sar), "-o", str(out / "x.tif"), *flags]
        for option in chosen:
            arguments += [option, data.draw(OPTIONS[option], label=option)]
        before = _tree(root)
        code = run_command_line(arguments)
        _check_contract(code, capsys.readouterr().err, before, root, out)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    which=st.sampled_from(["reference", "sar", "pairs"]),
    content=st.one_of(
        st.binary(max_size=4096),
        # a real raster cut short at a random byte: a download that stopped
        st.integers(0, (SAMPLE / "s1_offset.tif").stat().st_size - 1).map(
            lambda n: (SAMPLE / "s1_offset.tif").read_bytes()[:n]
        ),
    ),
)
def test_random_bytes_as_inputs_keep_the_contract(which, content, capsys):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        reference, sar = _small_pair(root)
        damaged = root / ("pairs.csv" if which == "pairs" else f"{which}.tif")
        damaged.write_bytes(content)
        out = root / "out"
        if which == "pairs":
            arguments = ["batch", str(damaged), "--out-dir", str(out), "--quiet"]
        else:
            out.mkdir()
            inputs = [damaged, sar] if which == "reference" else [reference, damaged]
            arguments = ["register", *map(str, inputs), "-o", str(out / "x.tif"), "--quiet"]
        before = _tree(root)
        code = run_command_line(arguments)
        err = capsys.readouterr().err
        if which == "pairs":  # a batch refuses a bad pairs file before making its out dir
            assert code == 2 and not out.exists() and len([x for x in err.splitlines() if x.startswith("error:")]) == 1, err
            return
        _check_contract(code, err, before, root, out)
