"""Refining a training pair's alignment with the classical matcher."""

import json
import shutil

import numpy as np
import pytest
import rasterio
from distributed import Client, LocalCluster

from sarlign.pipeline.options import RegisterOptions
from sarlign.training.alignment import refine_alignments, sar_to_optical
from sarlign.training.volkov import open_png

PAIR = "014"
SHIFT = (7, -4)  # SAR content moved by this many pixels (x, y)


def _copy_pair(source, folder, shift=(0, 0)):
    folder.mkdir()
    shutil.copy(source / f"volkov_{PAIR}_opt.png", folder / f"volkov_{PAIR}_opt.png")
    with open_png(source / f"volkov_{PAIR}_sar.png") as src:
        data = src.read()
    data = np.roll(data, (shift[1], shift[0]), axis=(1, 2))
    with rasterio.open(folder / f"volkov_{PAIR}_sar.png", "w", driver="PNG", width=data.shape[2], height=data.shape[1], count=data.shape[0], dtype=data.dtype) as dst:
        dst.write(data)
    (folder / "volkov_metadata.json").write_text("[]")  # no georeferencing: a nominal grid is used
    return folder


@pytest.mark.filterwarnings("ignore::rasterio.errors.NotGeoreferencedWarning")
def test_refined_alignment_follows_a_known_shift(shared_data, tmp_path):
    source = shared_data / "train" / "volkov_s1s2"
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        with Client(cluster) as client:
            documents = [
                refine_alignments(_copy_pair(source, tmp_path / name, shift), tmp_path, client, RegisterOptions())
                for name, shift in (("plain", (0, 0)), ("shifted", SHIFT))
            ]
    assert documents[0]["method"]["matcher"] == "cfog"
    plain, shifted = (sar_to_optical(d, PAIR) for d in documents)
    # SAR content moved by +SHIFT: the SAR → optical mapping must move it back.
    centre = np.array([512.0, 512.0, 1.0])
    assert shifted @ centre - plain @ centre == pytest.approx([-SHIFT[0], -SHIFT[1]], abs=0.3)
    json.dumps(documents[0])  # the document is plain JSON
