"""The report's structure diagnosis on real SAR pixels moved by a known shift, or bent by a known field."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import rasterio
from scipy.ndimage import map_coordinates

SAMPLE_SAR = Path(__file__).resolve().parents[2] / "data" / "sample" / "s1_aligned.tif"


def _warped_copy(source, destination, displacement_px):
    """``source`` resampled so that its pixel (x, y) shows what ``source`` shows at (x, y) + d(x, y)."""
    with rasterio.open(source) as src:
        profile, image = src.profile, src.read(1).astype(np.float32)
    rows, cols = np.mgrid[0 : image.shape[0], 0 : image.shape[1]].astype(np.float32)
    dx, dy = displacement_px(cols, rows)
    warped = map_coordinates(image, [rows + dy, cols + dx], order=1, mode="nearest")
    with rasterio.open(destination, "w", **profile) as dst:
        dst.write(np.clip(np.round(warped), 0, 255).astype(profile["dtype"]), 1)
    return destination


def test_real_pixels_moved_by_a_shift_or_bent_by_a_smooth_field(sarlign, tmp_path):
    """The demo SAR matched against itself moved by 3.4, −2.2 px everywhere (an affine case), then bent by
    two bumps of 4 px (a non-rigid one): only the second report says a richer model would help."""
    reports = {}
    fields = {
        "shifted": lambda x, y: (np.full_like(x, 3.4), np.full_like(y, -2.2)),
        "bent": lambda x, y: (3.4 + 4 * np.exp(-((x - 250) ** 2 + (y - 250) ** 2) / (2 * 120**2)),
                              -2.2 - 4 * np.exp(-((x - 520) ** 2 + (y - 500) ** 2) / (2 * 120**2))),
    }
    for name, field in fields.items():
        moved = _warped_copy(SAMPLE_SAR, tmp_path / f"{name}.tif", field)
        ran = sarlign("register", SAMPLE_SAR, moved, "-o", tmp_path / f"{name}_out.tif", "--json", "--quiet")
        assert ran.code == 0, ran
        reports[name] = json.loads((tmp_path / f"{name}_out.json").read_text())["structure"]
    assert reports["shifted"]["hint"] is None and reports["shifted"]["simplest_as_good"] == "affine"
    bent = reports["bent"]
    assert bent["hint"] is not None and bent["simplest_as_good"] != "affine"
    assert bent["held_out_rmse_px"][bent["simplest_as_good"]] < 0.7 * bent["held_out_rmse_px"]["affine"]
