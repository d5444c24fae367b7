"""Every registered matcher, with its shipped weights, recovers a known shift on a real Sentinel-1/2 pair."""

import numpy as np
import pytest
import torch

from sarlign.models import registry


def _crops(optical, sar, x0, y0, size, margin, dx, dy):
    """Reference tile at (x0, y0) and the SAR tile around it whose content is displaced by (dx, dy) px."""
    reference = optical[y0 : y0 + size, x0 : x0 + size]
    sy, sx = y0 - margin - dy, x0 - margin - dx
    return reference, sar[sy : sy + size + 2 * margin, sx : sx + size + 2 * margin]


@pytest.mark.parametrize("name", sorted(registry.available()))
def test_matcher_recovers_a_known_shift_on_a_real_pair(name, shared_file, png_grey):
    # Volkov pair 101 is itself off its stated alignment by about (3.0, 3.5) px (see data/sample/README.md),
    # so the recovered median shift is compared with the imposed one within 5 px, and the tie points must
    # agree with each other (their spread is the matcher's own precision).
    optical = torch.from_numpy(png_grey(shared_file("pairs/volkov_s1s2/volkov_101_opt.png")))
    sar = torch.from_numpy(png_grey(shared_file("pairs/volkov_s1s2/volkov_101_sar.png")))
    matcher = registry.build(name)
    dx, dy = 7, -5
    margin = matcher.margin(20)
    reference, sar_tile = _crops(optical, sar, 64, 64, 448, margin, dx, dy)
    found = matcher.match(reference, torch.ones(reference.shape, dtype=torch.bool), sar_tile, torch.ones(sar_tile.shape, dtype=torch.bool))
    assert len(found) >= 20
    shifts = found.sar_xy - found.reference_xy
    median = np.median(shifts, axis=0)
    assert abs(median[0] - dx) < 5 and abs(median[1] - dy) < 5
    assert np.median(np.abs(shifts - median).max(axis=1)) < 2.0
    assert ((found.score >= 0) & (found.score <= 1)).all()
