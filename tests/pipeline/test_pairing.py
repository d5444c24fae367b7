"""`sarlign pairs`: each SAR scene with the reference covering most of it, closest in time."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from sarlign.pipeline.pairs_file import read_pairs

DAY = "2023-06-{:02d}T10:00:00Z"


def _item(item_id: str, box: tuple[float, float, float, float], day: int, catalogue: str) -> dict:
    west, south, east, north = box
    ring = [[west, south], [east, south], [east, north], [west, north], [west, south]]
    return {
        "type": "Feature", "stac_version": "1.0.0", "id": item_id,
        "geometry": {"type": "Polygon", "coordinates": [ring]}, "bbox": list(box),
        "properties": {"datetime": DAY.format(day)}, "assets": {},
        "links": [{"rel": "self", "href": f"{catalogue}/items/{item_id}"}],
    }


@pytest.fixture
def catalogue(tmp_path):
    """Two ItemCollections, as a STAC API search returns them (degrees; June 2023)."""
    s2 = [
        _item("s2_near_in_time", (10.0, 45.0, 11.0, 46.0), 3, "https://stac.example/s2"),
        _item("s2_far_in_time", (10.0, 45.0, 11.0, 46.0), 20, "https://stac.example/s2"),
        _item("s2_partial", (11.6, 45.0, 12.5, 46.0), 1, "https://stac.example/s2"),
        _item("s2_other_month", (20.0, 45.0, 21.0, 46.0), 1, "https://stac.example/s2"),
    ]
    s1 = [
        _item("s1_inside", (10.2, 45.2, 10.8, 45.8), 1, "https://stac.example/s1"),  # both s2 tiles cover it all
        _item("s1_straddling", (11.0, 45.0, 12.0, 46.0), 2, "https://stac.example/s1"),  # s2_partial: 40 %
        _item("s1_nowhere", (30.0, 45.0, 31.0, 46.0), 2, "https://stac.example/s1"),
    ]
    s1.append({**_item("s1_too_late", (20.2, 45.2, 20.8, 45.8), 1, "https://stac.example/s1"),
               "properties": {"datetime": "2023-08-15T10:00:00Z"}})
    paths = []
    for name, items in (("s2.json", s2), ("s1.json", s1)):
        path = tmp_path / name
        path.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
        paths.append(path)
    return paths


def test_pairs_by_overlap_then_time_and_leaves_out_what_does_not_qualify(sarlign, catalogue, tmp_path):
    references, sars = catalogue
    ran = sarlign("pairs", references, sars, "-o", tmp_path / "pairs.csv")
    assert ran.code == 0, ran
    with open(tmp_path / "pairs.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {"reference": "https://stac.example/s2/items/s2_near_in_time", "sar": "https://stac.example/s1/items/s1_inside",
         "name": "s1_inside"},
        {"reference": "https://stac.example/s2/items/s2_partial", "sar": "https://stac.example/s1/items/s1_straddling",
         "name": "s1_straddling"},
    ]
    assert "2of4SARscenespaired" in ran.flat_stderr and "s1_nowhere│—none—" in ran.flat_stderr
    assert [p.name for p in read_pairs(tmp_path / "pairs.csv")] == ["s1_inside", "s1_straddling"]


def test_the_time_and_overlap_limits_are_the_users(sarlign, catalogue, tmp_path):
    references, sars = catalogue
    ran = sarlign("pairs", references, sars, "-o", tmp_path / "pairs.csv", "--max-days", "90", "--min-overlap", "0.5")
    assert ran.code == 0, ran
    with open(tmp_path / "pairs.csv", newline="") as f:
        paired = {row["name"]: row["reference"].rsplit("/", 1)[-1] for row in csv.DictReader(f)}
    assert paired == {"s1_inside": "s2_near_in_time", "s1_too_late": "s2_other_month"}


def test_folders_of_products_are_paired_and_the_file_works_from_its_own_folder(sarlign, demo_products, tmp_path, monkeypatch):
    """Relative folders, a product both unpacked and zipped, and a stray report: one pair, absolute paths,
    which ``batch`` reads from the pairs file's folder."""
    references, sars, out = tmp_path / "s2", tmp_path / "s1", tmp_path / "out"
    for folder in (references, sars, out):
        folder.mkdir()
    shutil.copytree(demo_products.s2_l2a, references / demo_products.s2_l2a.name)
    shutil.copytree(demo_products.s1, sars / demo_products.s1.name)
    shutil.copy(demo_products.s1_zip, sars)
    (sars / "old_run.json").write_text(json.dumps({"format": "sarlign-report/1"}))
    monkeypatch.chdir(tmp_path)
    ran = sarlign("pairs", "s2", "s1", "-o", "out/pairs.csv", "--quiet")
    assert ran.code == 0, ran
    (pair,) = read_pairs(out / "pairs.csv")
    assert (pair.reference, pair.sar) == (str(references / demo_products.s2_l2a.name), str(sars / demo_products.s1.name))


@pytest.mark.parametrize(
    ("arguments", "named"),
    [
        (("--min-overlap", "2"), "--min-overlap"),
        (("--max-days", "-1"), "--max-days"),
    ],
)
def test_bad_settings_and_sources_exit_2(sarlign, catalogue, tmp_path, arguments, named):
    ran = sarlign("pairs", *catalogue, "-o", tmp_path / "pairs.csv", *arguments)
    assert ran.code == 2 and named in ran.stderr and len(ran.lines) == 1, ran
    nowhere = tmp_path / "nowhere"
    ran = sarlign("pairs", nowhere, catalogue[1], "-o", tmp_path / "pairs.csv")
    assert ran.code == 2 and str(nowhere) in ran.stderr, ran
    assert not (tmp_path / "pairs.csv").exists()
