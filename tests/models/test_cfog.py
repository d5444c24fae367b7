"""The CFOG coarse-to-fine matcher on synthetic patterns (the real-pair test of every matcher is in test_registry)."""

from pathlib import Path

import numpy as np
import pytest
import rasterio
import torch

from sarlign.models import registry
from sarlign.models.cfog import CfogMatcher

SAMPLE_SAR = Path(__file__).resolve().parents[2] / "data" / "sample" / "s1_offset.tif"


def _texture(h, w, seed=0):
    """Smooth random texture in [0, 1]: noise box-blurred twice with a 5-px kernel."""
    x = torch.rand(1, 1, h, w, generator=torch.Generator().manual_seed(seed))
    for _ in range(2):
        x = torch.nn.functional.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=False)
    x = (x - x.min()) / (x.max() - x.min())
    return x[0, 0]


def _cut(image: torch.Tensor, x0: int, y0: int, size: int, margin: int, dx: int, dy: int):
    """Reference tile at (x0, y0) and the SAR tile around it whose content is displaced by (dx, dy)."""
    reference = image[y0 : y0 + size, x0 : x0 + size]
    sy, sx = y0 - margin - dy, x0 - margin - dx
    assert sy >= 0 and sx >= 0
    sar = image[sy : sy + size + 2 * margin, sx : sx + size + 2 * margin]
    assert sar.shape == (size + 2 * margin, size + 2 * margin)
    return reference, sar


def _valid(t: torch.Tensor) -> torch.Tensor:
    return torch.ones(t.shape, dtype=torch.bool)


def test_margin_is_a_multiple_of_the_pool_and_covers_the_search():
    m = CfogMatcher()
    for shift in (0, 7, 20, 40):
        margin = m.margin(shift)
        assert margin % m.coarse_factor == 0
        assert margin >= shift + m.search
    assert CfogMatcher().margin(20) == 36


@pytest.mark.parametrize("dx,dy", [(0, 0), (-9, 13), (17, 4)])
def test_exact_integer_shift_of_synthetic_texture(dx, dy):
    """Same texture on both sides, SAR displaced by (dx, dy): every tie point shows exactly that shift."""
    matcher = CfogMatcher()
    m = matcher.margin(20)
    reference, sar = _cut(_texture(400, 400), 60, 60, 256, m, dx, dy)
    c = matcher.match(reference, _valid(reference), sar, _valid(sar))
    assert len(c) >= 4
    d = c.sar_xy - c.reference_xy
    np.testing.assert_allclose(d, np.tile([dx, dy], (len(c), 1)), atol=0.2)
    assert ((c.score >= matcher.min_peak) & (c.score <= 1)).all()
    # Tie points sit at template centres inside the tile.
    assert (c.reference_xy >= 0).all() and (c.reference_xy <= 256).all()


def test_invalid_reference_half_gives_no_tie_points_there():
    """Templates over invalid reference pixels are dropped."""
    matcher = CfogMatcher()
    m = matcher.margin(20)
    reference, sar = _cut(_texture(400, 400, 1), 60, 60, 256, m, 3, -2)
    valid = _valid(reference)
    valid[:, :128] = False
    c = matcher.match(reference * valid, valid, sar, _valid(sar))
    assert len(c) > 0
    assert (c.reference_xy[:, 0] > 128).all()


def test_templates_inside_a_covered_strip_are_left_to_the_neighbour():
    """With 170 columns and 140 rows covered, exactly the templates wholly inside those strips are gone;
    every other tie point is the one the whole tile gives (same templates, same coarse shift)."""
    matcher = CfogMatcher()
    m = matcher.margin(20)
    reference, sar = _cut(_texture(400, 400, 3), 60, 60, 256, m, 5, -4)
    tile = (reference, _valid(reference), sar, _valid(sar))
    whole, left_out = matcher.match_many([tile, tile], [(0, 0), (170, 140)])
    half = matcher.template / 2
    outside_strips = (whole.reference_xy[:, 0] + half > 170) & (whole.reference_xy[:, 1] + half > 140)
    assert 0 < outside_strips.sum() < len(whole)
    np.testing.assert_array_equal(left_out.reference_xy, whole.reference_xy[outside_strips])
    # The same searches, batched differently for the FFTs: equal to float32 rounding.
    np.testing.assert_allclose(left_out.sar_xy, whole.sar_xy[outside_strips], atol=1e-4)
    (nothing,) = matcher.match_many([tile], [(256, 0)])
    assert len(nothing) == 0 and not nothing.search_limited


def test_correspondences_shifted_and_concatenated():
    matcher = CfogMatcher()
    m = matcher.margin(10)
    reference, sar = _cut(_texture(300, 300, 2), 50, 50, 128, m, 2, 1)
    c = matcher.match(reference, _valid(reference), sar, _valid(sar))
    moved = c.shifted(512, 1024)
    np.testing.assert_allclose(moved.reference_xy - c.reference_xy, np.tile([512, 1024], (len(c), 1)))
    np.testing.assert_allclose(moved.sar_xy - moved.reference_xy, c.sar_xy - c.reference_xy)
    both = type(c).concatenate([c, moved])
    assert len(both) == 2 * len(c)
    assert len(type(c).concatenate([])) == 0


def test_registry_builds_cfog_and_rejects_unknown():
    assert "cfog" in registry.available()
    built = registry.build("cfog", search=6)
    assert isinstance(built, CfogMatcher) and built.search == 6 and built.name == "cfog"
    with pytest.raises(KeyError, match="unknown matcher"):
        registry.build("no-such-matcher")


def test_tile_narrower_than_coarse_pool_does_not_crash():
    matcher = CfogMatcher()
    m = matcher.margin(20)
    reference, sar = _cut(_texture(400, 400, 3), 60, 60, 128, m, 2, 1)
    reference = reference[:, :3]
    sar = sar[:, : 3 + 2 * m]
    c = matcher.match(reference, _valid(reference), sar, _valid(sar))
    assert len(c) == 0 or np.isfinite(c.sar_xy).all()


@pytest.mark.parametrize(
    "searches, expected",
    [(169, {}), (100, {"stride": 48}), (49, {"stride": 64}), (20, {"stride": 128}), (1, {"stride": 128})],
)
def test_thinning_gives_the_densest_grid_within_the_searches(searches, expected):
    matcher = CfogMatcher()  # template 128, stride 32: 13² = 169 templates on a 512² tile
    thinning = matcher.thinned(searches, 512)
    assert thinning == expected
    stride = thinning.get("stride", matcher.stride)
    assert matcher.templates_per_tile(512, stride) <= max(searches, 16)


def test_a_shift_beyond_the_search_gives_no_tie_points_and_says_so():
    """Content displaced 60 px with a margin for 40: the coarse peak sits on the edge of what the margin
    lets the search reach, so the tile gives no tie point and is flagged, not half-found."""
    matcher = CfogMatcher()
    margin = matcher.margin(40)
    with rasterio.open(SAMPLE_SAR) as src:  # real SAR: its structure correlates over tens of pixels
        image = torch.from_numpy(src.read(1).astype(np.float32) / 255.0)
    reference, sar = _cut(image, 200, 200, 256, margin, 60, -20)
    found = matcher.match(reference, _valid(reference), sar, _valid(sar))
    assert len(found) == 0 and found.search_limited
    reference, sar = _cut(image, 200, 200, 256, margin, 30, -20)
    within = matcher.match(reference, _valid(reference), sar, _valid(sar))
    assert len(within) > 0 and not within.search_limited


def test_templates_shrink_to_small_inputs():
    """A 120 px overlap holds no two 128 px templates: half its side, on a grid a quarter of that."""
    assert CfogMatcher().sized_for(120) == {"template": 60, "stride": 15}
    assert CfogMatcher().sized_for(256) == {}
