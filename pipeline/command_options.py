"""The declared options (:mod:`sarlign.pipeline.options`) as typer parameters of a command.

A command written as ``def batch(pairs, out_dir, ..., values: dict)`` and decorated with
:func:`with_options` gets one command-line option per declaration after its own parameters, and is called
with their values gathered in ``values`` (by option name), so ``register`` and ``batch`` cannot drift
apart: they are built from the same list.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from typing import Any, Optional

import typer

from sarlign.pipeline.options import OPTIONS, Option

_TYPES: dict[str, Any] = {"text": str, "int": int, "float": float, "flag": bool, "choice": str, "list": list[str]}


def _help(option: Option) -> str:
    """The option's help, with the choices of a choice option when its help does not list them."""
    if option.kind == "choice" and not callable(option.choices) and not all(c in option.help for c in option.choices):
        return f"{option.help} One of: {', '.join(option.choices)}."
    return option.help


def _metavar(option: Option) -> str:
    """``[auto|linear|db]`` for a fixed choice, else the kind (``INTEGER``, ``TEXT``)."""
    if option.kind == "choice" and not callable(option.choices):
        return "[" + "|".join(option.choices) + "]"
    return {"int": "INTEGER", "float": "NUMBER", "list": "KEY=VALUE"}.get(option.kind, "TEXT")


def typer_parameter(option: Option) -> inspect.Parameter:
    """The keyword parameter a typer command declares for ``option``."""
    default = option.default_value
    annotation = _TYPES[option.kind]
    if default is None:
        annotation = Optional[annotation]
    names = [f"{option.flag}/--no-{option.flag[2:]}" if option.negatable else option.flag]
    if option.short:
        names.append(option.short)
    info = typer.Option(
        [] if option.kind == "list" else default,
        *names,
        help=_help(option),
        rich_help_panel=option.panel,
        show_default=option.kind not in ("flag", "list") and default is not None,
        metavar="" if option.kind == "flag" else _metavar(option),
    )
    return inspect.Parameter(option.name, inspect.Parameter.KEYWORD_ONLY, default=info, annotation=annotation)


def with_options(options: tuple[Option, ...] = OPTIONS) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a command taking ``values`` (a dict of option name → value) with one parameter per option."""

    def decorate(command: Callable[..., Any]) -> Callable[..., Any]:
        signature = inspect.signature(command, eval_str=True)
        own = [p.replace(kind=inspect.Parameter.KEYWORD_ONLY) for name, p in signature.parameters.items() if name != "values"]
        declared = [typer_parameter(option) for option in options]
        # The command's own options in a panel of theirs (--cluster in "Running") go after the declared ones.
        paneled = [p for p in own if getattr(p.default, "rich_help_panel", None)]
        own = [p for p in own if p not in paneled]

        @functools.wraps(command)
        def wrapper(**given: Any) -> Any:
            values = {option.name: given.pop(option.name) for option in options}
            return command(**given, values=values)

        parameters = own + declared + paneled
        wrapper.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
        wrapper.__annotations__ = {p.name: p.annotation for p in parameters}
        del wrapper.__wrapped__  # typer reads the signature above, not the command's own
        return wrapper

    return decorate
