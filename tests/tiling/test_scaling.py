"""Scene-wide radiometric scaling of a band to [0, 1] (log for linear SAR, percentiles 2–98)."""

import numpy as np
import pytest
from affine import Affine

from sarlign.errors import InputError
from sarlign.tiling.scaling import BandScaling, band_scaling

TRANSFORM = Affine(10.0, 0.0, 400_000.0, 0.0, -10.0, 5_000_000.0)


@pytest.fixture
def raster(tmp_path, write_raster):
    def make(data, nodata=None, name="band.tif"):
        return str(write_raster(tmp_path / name, data, transform=TRANSFORM, nodata=nodata))

    return make


def _linear_power(shape=(200, 300), seed=0):
    """Speckle-like linear backscatter: exponential around a mean of 0.05 (about -13 dB)."""
    return np.random.default_rng(seed).exponential(0.05, shape).astype(np.float32)


def test_linear_power_is_taken_to_db(raster):
    """All values ≥ 0 with sar_scale=auto: log scale, range from dB percentiles."""
    data = _linear_power()
    s = band_scaling(raster(data), 1, None, "SAR", "auto")
    assert s.log is True
    floor = np.percentile(data[data > 0], 0.5)
    db = 10 * np.log10(np.maximum(data.astype(np.float64), floor))
    low, high = np.percentile(db, [2, 98])
    assert s.floor == pytest.approx(floor, rel=1e-5)
    assert (s.low, s.high) == pytest.approx((low, high), rel=1e-5)
    assert -40 < s.low < s.high < 0  # dB of values below 1


def test_explicit_linear_takes_log(raster):
    data = _linear_power()
    assert band_scaling(raster(data), 1, None, "SAR", "linear").log is True


def test_negative_values_are_kept_as_db(raster):
    """Values already in dB (some negative): no log, range from raw percentiles."""
    data = (10 * np.log10(_linear_power())).astype(np.float32)
    assert data.min() < 0
    s = band_scaling(raster(data), 1, None, "SAR", "auto")
    assert s.log is False
    assert (s.low, s.high) == pytest.approx(tuple(np.percentile(data.astype(np.float64), [2, 98])), rel=1e-5)


def test_db_scale_forced_on_positive_values(raster):
    data = _linear_power() * 100
    assert band_scaling(raster(data), 1, None, "SAR", "db").log is False


def test_optical_band_has_no_log(raster):
    data = np.random.default_rng(1).integers(0, 3000, (100, 120)).astype(np.uint16)
    s = band_scaling(raster(data), 1, None, "reference")
    assert s.log is False
    assert (s.low, s.high) == pytest.approx(tuple(np.percentile(data, [2, 98])), rel=1e-6)


def test_nodata_is_excluded_from_statistics(raster):
    """A nodata value of -9999 over half the band neither forces dB nor enters the percentiles."""
    data = _linear_power()
    data[:, :150] = -9999
    s = band_scaling(raster(data, nodata=-9999), 1, -9999, "SAR", "auto")
    assert s.log is True
    valid = data[:, 150:].astype(np.float64)
    floor = np.percentile(valid[valid > 0], 0.5)
    assert s.high == pytest.approx(np.percentile(10 * np.log10(np.maximum(valid, floor)), 98), rel=1e-5)


def test_all_nodata_raises_naming_file(raster):
    path = raster(np.zeros((64, 64), np.uint8), nodata=0)
    with pytest.raises(InputError, match="no valid pixel") as info:
        band_scaling(path, 1, 0, "SAR", "auto")
    assert info.value.path == path


def test_all_nan_raises(raster):
    path = raster(np.full((64, 64), np.nan, np.float32))
    with pytest.raises(InputError, match="no valid pixel"):
        band_scaling(path, 1, None, "SAR", "auto")


def test_constant_band_raises(raster):
    path = raster(np.full((64, 64), 7, np.uint8))
    with pytest.raises(InputError, match="no contrast"):
        band_scaling(path, 1, None, "reference")


def test_to_unit_range_and_order():
    """Output is float32 in [0, 1], 0 at ``low``, 1 at ``high``, monotonic, clipped outside."""
    s = BandScaling(log=False, floor=0.0, low=10.0, high=30.0)
    values = np.array([-5.0, 10.0, 15.0, 20.0, 30.0, 99.0])
    out = s.to_unit(values)
    assert out.dtype == np.float32
    np.testing.assert_allclose(out, [0, 0, 0.25, 0.5, 1, 1], atol=1e-6)


def test_to_unit_log_scale():
    """With ``log``: 10·log10, and values under the floor (zeros included) map to the floor."""
    s = BandScaling(log=True, floor=1e-3, low=-30.0, high=0.0)
    out = s.to_unit(np.array([0.0, 1e-3, 1e-2, 1.0, 10.0], dtype=np.float32))
    np.testing.assert_allclose(out, [0, 0, 1 / 3, 1, 1], atol=1e-6)
    assert np.isfinite(out).all()


def test_to_unit_of_real_scaling_in_range(raster):
    data = _linear_power()
    s = band_scaling(raster(data), 1, None, "SAR", "auto")
    out = s.to_unit(data)
    assert out.min() >= 0 and out.max() <= 1
    assert 0.01 < np.mean(out == 0) < 0.05 and 0.01 < np.mean(out == 1) < 0.05  # 2 % clipped each side
