"""``sarlign`` and ``python -m sarlign``: the console entry point.

It imports the command line itself, so that a Ctrl-C pressed while the heavy libraries load (torch, GDAL,
Dask: seconds) also ends in one line and exit code 130, not in a traceback. It ends the process without
the interpreter's teardown, which would spend most of a second freeing torch's and GDAL's modules: by
then every output is closed and in its place, the cluster is shut down and only stdio remains to flush.
"""

from __future__ import annotations

import logging
import os
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
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except OSError:  # a reader that went away (`sarlign … | head`): nothing left to tell it
            pass
    os._exit(code)


if __name__ == "__main__":
    main()
