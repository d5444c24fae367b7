"""Matchers by name, so ``--matcher NAME`` can pick one."""

from __future__ import annotations

from collections.abc import Callable

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


def _load_builtin() -> None:
    # Importing the modules runs their @register decorators.
    from sarlign.models import cfog, learned_cfog, learned_dense, learned_keypoint  # noqa: F401
