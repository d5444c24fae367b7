"""Screening tile pairs by valid fraction and structure."""

import numpy as np
import pytest

from sarlign.tiling.reading import TilePair
from sarlign.tiling.screening import ScreeningThresholds, screen, structure


def _texture(shape, seed=0):
    return np.random.default_rng(seed).random(shape).astype(np.float32)


def _pair(reference, sar, reference_valid=None, sar_valid=None, margin=8):
    return TilePair(
        reference,
        np.ones(reference.shape, bool) if reference_valid is None else reference_valid,
        sar,
        np.ones(sar.shape, bool) if sar_valid is None else sar_valid,
        margin,
    )


def test_structure_of_flat_image_is_zero():
    assert structure(np.full((32, 32), 0.4, np.float32), np.ones((32, 32), bool)) == 0.0


def test_structure_of_ramp_is_its_slope():
    """A ramp rising 0.01 per column has mean gradient magnitude 0.01."""
    ramp = np.tile(np.arange(64, dtype=np.float64) * 0.01, (64, 1))
    assert structure(ramp, np.ones((64, 64), bool)) == pytest.approx(0.01)


def test_structure_ignores_pixels_next_to_invalid_ones():
    """A step at an invalid seam does not count: only pixels with a valid 3×3 neighbourhood do."""
    image = np.zeros((32, 32))
    image[:, 16:] = 1.0
    valid = np.ones((32, 32), bool)
    assert structure(image, valid) > 0.01
    valid[:, 15:17] = False
    assert structure(image, valid) == 0.0


def test_structure_with_no_valid_pixel_is_zero():
    assert structure(_texture((16, 16)), np.zeros((16, 16), bool)) == 0.0


def test_textured_pair_is_accepted():
    s = screen(_pair(_texture((64, 64)), _texture((80, 80), 1)), ScreeningThresholds())
    assert s.accepted and s.reason == ""
    assert s.valid_fraction == 1.0
    assert s.reference_structure > 0.1 and s.sar_structure > 0.1


def test_low_valid_fraction_is_screened():
    """Valid fraction counts the reference and the SAR core (margin excluded) together."""
    sar_valid = np.ones((80, 80), bool)
    sar_valid[8:72, 8:48] = False  # 40 of the 64 core columns invalid
    s = screen(_pair(_texture((64, 64)), _texture((80, 80), 1), sar_valid=sar_valid), ScreeningThresholds())
    assert not s.accepted
    assert s.valid_fraction == pytest.approx(24 / 64)
    assert "valid data" in s.reason


def test_invalid_margin_does_not_lower_valid_fraction():
    sar_valid = np.ones((80, 80), bool)
    sar_valid[:8] = False
    s = screen(_pair(_texture((64, 64)), _texture((80, 80), 1), sar_valid=sar_valid), ScreeningThresholds())
    assert s.valid_fraction == 1.0 and s.accepted


def test_flat_reference_is_screened():
    s = screen(_pair(np.full((64, 64), 0.5, np.float32), _texture((80, 80))), ScreeningThresholds())
    assert not s.accepted and "reference too flat" in s.reason


def test_flat_sar_is_screened():
    s = screen(_pair(_texture((64, 64)), np.full((80, 80), 0.5, np.float32)), ScreeningThresholds())
    assert not s.accepted and "SAR too flat" in s.reason


def test_thresholds_are_configurable():
    ramp = np.tile(np.arange(64, dtype=np.float32) * 0.01, (64, 1))
    pair = _pair(ramp, _texture((80, 80)))
    assert screen(pair, ScreeningThresholds(min_structure=0.005)).accepted
    assert not screen(pair, ScreeningThresholds(min_structure=0.02)).accepted
