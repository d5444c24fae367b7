"""Planning a scene pair: checks, overlap, tile grid and read recipes."""

import numpy as np
import pytest
from affine import Affine

from sarlign.errors import InputError
from sarlign.models.cfog import CfogMatcher
from sarlign.pipeline.options import RegisterOptions
from sarlign.pipeline.plan import plan_pair

REF_TRANSFORM = Affine(10.0, 0.0, 500_000.0, 0.0, -10.0, 5_000_000.0)


@pytest.fixture
def pair(tmp_path, write_raster):
    """A 3-band 600 × 400 reference and a SAR covering only its left 300 columns (same grid)."""
    rng = np.random.default_rng(0)
    ref = write_raster(tmp_path / "ref.tif", rng.integers(1, 255, (3, 400, 600), dtype=np.uint8), transform=REF_TRANSFORM)
    sar = write_raster(tmp_path / "sar.tif", rng.exponential(0.05, (400, 300)).astype(np.float32), transform=REF_TRANSFORM)
    return str(ref), str(sar)


def test_plan_covers_the_overlap_with_tiles(pair):
    plan = plan_pair(*pair, RegisterOptions(tile_size=128, max_shift=20))
    assert plan.overlap_px.bounds == pytest.approx((0, 0, 300, 400))
    # The grid is cut over the overlap only: columns 0..300, rows 0..400.
    assert {int(t.window.col_off) for t in plan.tiles} == {0, 128, 172}
    assert {int(t.window.row_off) for t in plan.tiles} == {0, 128, 256, 272}
    assert len(plan.recipes) == len(plan.tiles) and plan.outside == []
    recipe = plan.recipes[0]
    assert recipe.margin == CfogMatcher().margin(20)
    assert recipe.reference.bands == (1, 2, 3) and len(recipe.reference.scalings) == 3
    assert recipe.sar.bands == (1,) and recipe.sar.scalings[0].log is True  # linear power → dB
    assert (recipe.grid.width, recipe.grid.height) == (600, 400)
    assert recipe.grid.transform == REF_TRANSFORM


def test_strips_a_neighbour_holds_are_left_to_it_only_inside_the_overlap(pair):
    """Tiles of 256 on the 300 × 400 overlap: the snapped second column (at 44) lies 212 px inside the
    first, the snapped second row (at 144) 112 px inside the first."""
    plan = plan_pair(*pair, RegisterOptions(tile_size=256, max_shift=20))
    covered = {r.tile_id: r.covered for r in plan.recipes}
    assert covered == {"r000c000": (0, 0), "r000c001": (212, 0), "r001c000": (0, 112), "r001c001": (212, 112)}


def test_plan_honours_band_choice_and_nodata_override(pair):
    plan = plan_pair(*pair, RegisterOptions(reference_bands=("2",), sar_nodata=0.0, sar_scale="db"))
    assert plan.recipes[0].reference.bands == (2,)
    assert plan.recipes[0].sar.nodata == 0.0
    assert plan.recipes[0].sar.scalings[0].log is False


def test_plan_rejects_missing_reference_band(pair):
    with pytest.raises(InputError, match="band 4 does not exist") as info:
        plan_pair(*pair, RegisterOptions(reference_bands=("1", "4")))
    assert info.value.path == pair[0]


def _rotated_sar(tmp_path, write_raster, name, width, height, origin):
    """A SAR whose pixel axes run along the reference diagonals: SAR pixel (x, y) → reference pixel origin + (x − y, x + y)."""
    data = np.random.default_rng(2).integers(1, 255, (height, width), dtype=np.uint8)
    transform = REF_TRANSFORM @ Affine(1.0, -1.0, origin[0], 1.0, 1.0, origin[1])
    return str(write_raster(tmp_path / name, data, transform=transform))


def test_tiles_mostly_outside_a_diamond_overlap_are_not_read(tmp_path, write_raster):
    """A diamond inscribed in a 512² reference: the four corner tiles (0 % inside) are left out."""
    ref = write_raster(tmp_path / "ref.tif", np.random.default_rng(1).integers(1, 255, (512, 512), dtype=np.uint8),
                       transform=REF_TRANSFORM)
    sar = _rotated_sar(tmp_path, write_raster, "diamond.tif", 256, 256, (256, 0))
    plan = plan_pair(str(ref), sar, RegisterOptions(tile_size=128))
    assert plan.overlap_px.area == pytest.approx(512 * 512 / 2, rel=1e-6)
    assert len(plan.tiles) == 16
    assert sorted(t.tile_id for t in plan.outside) == ["r000c000", "r000c003", "r003c000", "r003c003"]
    assert len(plan.recipes) == 12


def test_a_strip_next_to_the_overlaps_edge_is_searched_by_both_tiles(tmp_path, write_raster):
    """On the diamond overlap no tile lies wholly inside it, so no strip is left to a neighbour."""
    ref = write_raster(tmp_path / "ref.tif", np.random.default_rng(1).integers(1, 255, (512, 512), dtype=np.uint8),
                       transform=REF_TRANSFORM)
    sar = _rotated_sar(tmp_path, write_raster, "diamond.tif", 256, 256, (256, 0))
    plan = plan_pair(str(ref), sar, RegisterOptions(tile_size=200))
    assert {t.covered for t in plan.tiles if t.col == 2 and t.row == 2} == {(88, 88)}
    assert {r.covered for r in plan.recipes} == {(0, 0)}


def test_overlap_too_thin_for_any_tile_raises(tmp_path, write_raster):
    """A 2-px-wide diagonal strip covers under 5 % of every tile: InputError naming the SAR."""
    ref = write_raster(tmp_path / "ref.tif", np.random.default_rng(1).integers(1, 255, (512, 512), dtype=np.uint8),
                       transform=REF_TRANSFORM)
    sar = _rotated_sar(tmp_path, write_raster, "strip.tif", 512, 2, (0, 0))
    with pytest.raises(InputError, match="too small to hold a tile") as info:
        plan_pair(str(ref), sar, RegisterOptions(tile_size=128))
    assert info.value.path == sar


def test_search_budget_thins_the_template_grid_of_a_scene_with_many_tiles(pair):
    # 12 tiles of 128²: at the default stride of 32 each has 3² = 9 templates of 64².
    template = ("template", 64)
    full = plan_pair(*pair, RegisterOptions(tile_size=128, matcher_options=(template,), search_budget=None))
    assert len(full.recipes) == 12 and full.matcher_options == (template,)
    fits = plan_pair(*pair, RegisterOptions(tile_size=128, matcher_options=(template,), search_budget=12 * 9))
    assert fits.matcher_options == (template,)
    thinned = plan_pair(*pair, RegisterOptions(tile_size=128, matcher_options=(template,), search_budget=60))
    assert dict(thinned.matcher_options) == {"template": 64, "stride": 64}  # 2² = 4 templates ≤ 60 // 12
    floor = plan_pair(*pair, RegisterOptions(tile_size=128, matcher_options=(template,), search_budget=1))
    assert dict(floor.matcher_options)["stride"] == 64  # never sparser than templates side by side


def test_search_budget_never_overrides_the_users_own_setting(pair):
    plan = plan_pair(*pair, RegisterOptions(tile_size=128, matcher_options=(("stride", 40),), search_budget=1))
    assert dict(plan.matcher_options) == {"stride": 40}
