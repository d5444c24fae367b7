"""window_starts: 1-D window placement shared by the tile grid and the template grid."""

import pytest

from sarlign.axis import window_starts


def _covered(length, size, starts):
    covered = [False] * length
    for s in starts:
        for i in range(s, min(s + size, length)):
            covered[i] = True
    return all(covered)


@pytest.mark.parametrize("length,size,step", [(100, 32, 32), (100, 32, 16), (1000, 512, 448), (513, 512, 512), (97, 10, 7)])
def test_windows_cover_axis_and_stay_inside(length, size, step):
    """Every pixel is covered, no window leaves the axis, the last ends exactly at the far edge."""
    starts = window_starts(length, size, step)
    assert starts[0] == 0
    assert _covered(length, size, starts)
    assert all(0 <= s <= length - size for s in starts)
    assert starts[-1] + size == length
    assert starts == sorted(set(starts))


def test_regular_steps_except_snapped_last():
    """Windows start every ``step`` px; only the last one is snapped to the edge."""
    assert window_starts(100, 30, 25) == [0, 25, 50, 70]
    assert window_starts(90, 30, 30) == [0, 30, 60]


@pytest.mark.parametrize("length", [1, 31, 32])
def test_short_axis_gets_one_window(length):
    """An axis no longer than the window gets a single window at 0."""
    assert window_starts(length, 32, 16) == [0]


@pytest.mark.parametrize("step", [0, -3])
def test_non_positive_step_raises(step):
    with pytest.raises(ValueError, match="step"):
        window_starts(100, 10, step)
