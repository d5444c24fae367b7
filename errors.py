"""Errors that end a run, each with the exit code the command line returns for it.

Exit codes: 0 success, 1 unexpected failure, 2 bad input or usage, 3 the fit was refused as untrustworthy.
"""

from __future__ import annotations


class SarlignError(Exception):
    """Base class: a failure with a message meant for the user."""

    exit_code = 1


class InputError(SarlignError):
    """An input file cannot be used; the message names the file and the problem."""

    exit_code = 2

    def __init__(self, path: str, problem: str) -> None:
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


class FitRefusedError(SarlignError):
    """The correspondences do not support a trustworthy transform; nothing is written."""

    exit_code = 3
