"""One-dimensional window placement, shared by the tile grid and the template grid."""

from __future__ import annotations


def window_starts(length: int, size: int, step: int) -> list[int]:
    """Offsets of windows of ``size`` every ``step`` along an axis of ``length`` pixels.

    The last window is snapped to end exactly at the axis end, so the windows cover the whole axis; an
    axis shorter than ``size`` gets one window at offset 0 (the caller shortens it).
    """
    if step < 1:
        raise ValueError(f"step must be positive, got {step}")
    if length <= size:
        return [0]
    starts = list(range(0, length - size + 1, step))
    if starts[-1] + size < length:
        starts.append(length - size)
    return starts
