"""Errors that end a run, each with the exit code the command line returns for it.

Exit codes: 0 success, 1 outputs that could not be written or an unexpected failure, 2 bad input or
usage, 3 the fit was refused as untrustworthy, 130 interrupted (Ctrl-C, SIGTERM).

Every error here survives pickling, so one raised on a Dask worker (a damaged input found while reading a
tile) reaches the command line as the same error, with the same exit code.
"""

from __future__ import annotations

from typing import Any

INTERRUPTED = 130  # the exit code of a run stopped by Ctrl-C or SIGTERM (the shell's code for SIGINT)


class SarlignError(Exception):
    """Base class: a failure with a message meant for the user."""

    exit_code = 1
    status = "failed"  # the ``status`` of the JSON object ``--json`` prints on failure


class InputError(SarlignError):
    """An input file or output path cannot be used; the message names it and the problem."""

    exit_code = 2
    status = "bad_input"

    def __init__(self, path: str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.path, self.problem))


class OptionError(SarlignError):
    """A command-line option has a value that cannot work; the message names the option."""

    exit_code = 2
    status = "bad_input"

    def __init__(self, option: str, problem: str) -> None:
        self.option = option
        self.problem = problem
        super().__init__(f"{option}: {problem}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (self.option, self.problem))


class OutputWriteError(SarlignError):
    """The outputs could not be written (a full disk, a failing file system); none is left behind. The
    message names the folder."""


class FitRefusedError(SarlignError):
    """The correspondences do not support a trustworthy transform; no result is written.

    ``diagnosis`` (JSON-ready, may be empty) says what was measured and which gates refused it; the command
    line writes it to ``NAME.failed.json`` so the refusal can be inspected.
    """

    exit_code = 3
    status = "refused"

    def __init__(self, message: str, diagnosis: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.diagnosis = diagnosis or {}

    def __reduce__(self) -> tuple[Any, ...]:
        return (type(self), (str(self), self.diagnosis))
