"""``sarlign`` and ``python -m sarlign``: the console entry point.

It imports the command line itself, so that a Ctrl-C pressed while the heavy libraries load (torch, GDAL,
Dask: seconds) also ends in one line and exit code 130, not in a traceback.
"""

from __future__ import annotations

import sys

from sarlign.errors import INTERRUPTED


def main() -> None:
    """Run ``sarlign`` with the process's arguments and exit with its code."""
    try:
        from sarlign.pipeline.cli import run_command_line

        code = run_command_line(sys.argv[1:])
    except KeyboardInterrupt:
        print("error: stopped (Ctrl-C)", file=sys.stderr)
        code = INTERRUPTED
    sys.exit(code)


if __name__ == "__main__":
    main()
