"""Matchers by name, so ``--matcher NAME`` can pick one."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

from sarlign.models.base import Matcher

MatcherFactory = Callable[..., Matcher]
_FACTORIES: dict[str, MatcherFactory] = {}
_SUMMARIES: dict[str, str] = {}


def register(name: str, summary: str) -> Callable[[MatcherFactory], MatcherFactory]:
    """Class or function decorator adding a matcher factory under ``name``."""

    def add(factory: MatcherFactory) -> MatcherFactory:
        _FACTORIES[name] = factory
        _SUMMARIES[name] = summary
        return factory

    return add


def available() -> dict[str, str]:
    """Registered matcher names and one-line summaries."""
    _load_builtin()
    return dict(_SUMMARIES)


def build(name: str, **options: object) -> Matcher:
    """Build the matcher registered as ``name`` with keyword options."""
    _load_builtin()
    if name not in _FACTORIES:
        raise KeyError(f"unknown matcher {name!r}; available: {', '.join(sorted(_FACTORIES))}")
    return _FACTORIES[name](**options)


def settings(name: str) -> dict[str, object]:
    """The settings ``--matcher-option`` may change for matcher ``name``, with their defaults (the fields of
    its dataclass, less ``device``, which is chosen with ``--device``)."""
    _load_builtin()
    factory = _FACTORIES[name]
    if not dataclasses.is_dataclass(factory):
        return {}
    return {f.name: f.default for f in dataclasses.fields(factory) if f.init and f.name != "device"}


def check_settings(name: str, options: dict[str, object]) -> None:
    """Check matcher settings against the matcher's own: known names, values of the default's type
    (sizes and counts positive), weights files that exist.

    Raises:
        ValueError: the first wrong setting, its name and what is expected.
    """
    known = settings(name)
    for key, value in options.items():
        if key not in known:
            raise ValueError(f"{name} has no setting {key!r}; its settings are {', '.join(sorted(known))}")
        default = known[key]
        if isinstance(default, bool) != isinstance(value, bool):
            raise ValueError(f"{key} must be true or false, got {value!r}")
        if isinstance(default, int) and not isinstance(default, bool) and not (isinstance(value, int) and value > 0):
            raise ValueError(f"{key} must be a positive whole number, got {value!r}")
        if isinstance(default, float) and not (isinstance(value, (int, float)) and math.isfinite(value) and value >= 0):
            raise ValueError(f"{key} must be a number ≥ 0, got {value!r}")
        if isinstance(default, str) and key == "weights" and not Path(str(value)).is_file():
            raise ValueError(f"weights file {value!r} does not exist")


def _load_builtin() -> None:
    # Importing the modules runs their @register decorators.
    from sarlign.models import cfog, learned_cfog, learned_dense, learned_keypoint  # noqa: F401
