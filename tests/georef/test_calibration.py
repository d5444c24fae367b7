"""Sentinel-1 GRD calibration: the LUT read from ESA's annotation and interpolated bilinearly."""

from __future__ import annotations

import numpy as np
import pytest

from sarlign.georef.calibration import read_lut

ANNOTATION = """<calibration><calibrationVectorList count="2">
  <calibrationVector><line>0</line><pixel count="3">0 10 20</pixel>
    <sigmaNought count="3">100 110 120</sigmaNought><betaNought count="3">237 237 237</betaNought>
    <gamma count="3">90 95 100</gamma></calibrationVector>
  <calibrationVector><line>{second_line}</line><pixel count="3">0 10 20</pixel>
    <sigmaNought count="3">200 210 220</sigmaNought><betaNought count="3">237 237 237</betaNought>
    <gamma count="3">190 195 200</gamma></calibrationVector>
</calibrationVectorList></calibration>"""


def test_the_lut_is_interpolated_bilinearly_and_held_beyond_its_edges():
    lut = read_lut(ANNOTATION.format(second_line=100), "sigma0")
    values = lut.at(np.array([0.0, 50.0, 100.0, 150.0]), np.array([0.0, 5.0, 20.0, 30.0]))
    np.testing.assert_allclose(values[:, 0], [100, 150, 200, 200])  # along lines, held past the last
    np.testing.assert_allclose(values[1], [150, 155, 170, 170])  # along pixels at line 50
    assert read_lut(ANNOTATION.format(second_line=100), "gamma0").at(np.array([0.0]), np.array([10.0]))[0, 0] == 95


def test_a_lut_whose_lines_do_not_increase_is_refused():
    with pytest.raises(ValueError, match="do not increase"):
        read_lut(ANNOTATION.format(second_line=0), "beta0")
