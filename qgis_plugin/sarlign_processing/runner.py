"""Running the ``sarlign`` command line from QGIS: finding it, following its progress, stopping it.

QGIS's Python cannot carry torch, so the algorithms run sarlign from the Python environment it is installed
in, as a child process started with ``--progress-lines``: its ``PROGRESS <label> <done>/<total>`` lines
(stderr) drive the progress bar, its ``error: ...`` lines become the algorithm's error, and every other line
goes to the log.
"""

from __future__ import annotations

import os
import queue
import re
import shlex
import shutil
import signal
import subprocess
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import IO

from processing.core.ProcessingConfig import ProcessingConfig
from qgis.core import QgsProcessingException, QgsProcessingFeedback

EXECUTABLE_SETTING = "SARLIGN_EXECUTABLE"  # the Processing setting, and the environment variable
PROGRESS_LINE = re.compile(r"^PROGRESS (\S+) (\d+)/(\d+)$")
EXIT_MEANINGS = {2: "bad input", 3: "fit refused as untrustworthy", 130: "stopped"}
STOP_GRACE_S = 10.0  # how long a cancelled sarlign gets to stop cleanly before it is killed
POLL_S = 0.2  # how often a cancel request is looked for while sarlign is silent
# Variables that point QGIS's own Python at its libraries; they would break the other environment's Python.
QGIS_PYTHON_VARIABLES = ("PYTHONHOME", "PYTHONPATH")


def find_executable() -> str:
    """The sarlign executable: the provider's 'sarlign executable' setting, else the environment variable
    ``SARLIGN_EXECUTABLE``, else ``sarlign`` on PATH.

    Raises:
        QgsProcessingException: the one configured is not an executable file, or none is found.
    """
    configured = (
        ("the Processing setting 'sarlign executable'", ProcessingConfig.getSetting(EXECUTABLE_SETTING)),
        (f"the environment variable {EXECUTABLE_SETTING}", os.environ.get(EXECUTABLE_SETTING)),
    )
    for source, value in configured:
        if value:
            found = shutil.which(value)
            if found is None:
                raise QgsProcessingException(f"{source} names {value!r}, which is not an executable file")
            return found
    found = shutil.which("sarlign")
    if found is None:
        raise QgsProcessingException(
            "sarlign executable not found: set it in Processing → Options → Providers → sarlign → "
            f"'sarlign executable', or set the environment variable {EXECUTABLE_SETTING}, or put sarlign on PATH "
            "(install sarlign in a Python environment of its own: QGIS's Python cannot carry torch)"
        )
    return found


@dataclass
class Run:
    """How one sarlign run ended: its exit status, its ``error:`` message and its last lines of output."""

    command: str
    returncode: int
    errors: list[str] = field(default_factory=list)
    last_lines: deque = field(default_factory=lambda: deque(maxlen=15))

    def failure(self) -> QgsProcessingException:
        """The exception for a failed run: sarlign's error message, else its last lines of output."""
        meaning = EXIT_MEANINGS.get(self.returncode, "failed")
        detail = "\n".join(self.errors or self.last_lines) or "no message"
        return QgsProcessingException(f"sarlign {self.command}: {meaning} (exit status {self.returncode}): {detail}")


def run_sarlign(arguments: list[str], paths: list[str], feedback: QgsProcessingFeedback, progress_label: str) -> Run:
    """Run ``sarlign ARGUMENTS --progress-lines -- PATHS`` to the end and say how it ended.

    ``ARGUMENTS`` is the subcommand and its options (values joined as ``--option=value``); the input
    paths come after ``--``, so a path that begins with ``-`` is never taken for an option.

    ``PROGRESS <progress_label> d/t`` lines set the progress to d/t; other progress lines are dropped.
    ``error:`` lines (and what follows them) are reported as errors, other lines logged as information.
    A cancel request stops sarlign and its worker processes and raises.

    Raises:
        QgsProcessingException: sarlign was not found, could not start, or the run was cancelled.
    """
    command = [find_executable(), *arguments, "--progress-lines", "--", *paths]
    feedback.pushCommandInfo(" ".join(shlex.quote(part) for part in command))
    environment = {k: v for k, v in os.environ.items() if k not in QGIS_PYTHON_VARIABLES}
    try:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            env=environment,
            **_own_process_group(),
        )
    except OSError as exc:
        raise QgsProcessingException(f"could not start {command[0]}: {exc}") from exc
    with process:  # closes the pipes and waits for sarlign on the way out
        return _follow(process, Run(arguments[0], returncode=-1), feedback, progress_label)


def _follow(process: subprocess.Popen, run: Run, feedback: QgsProcessingFeedback, progress_label: str) -> Run:
    """Read sarlign's output as it comes, watching for a cancel request, until sarlign ends."""
    lines: queue.Queue = queue.Queue()
    for stream in (process.stdout, process.stderr):
        threading.Thread(target=_forward_lines, args=(stream, stream is process.stderr, lines), daemon=True).start()
    open_streams, cancelled = 2, False
    while open_streams:  # to the end of both streams, also after a cancel, so no reader is left behind
        if feedback.isCanceled() and not cancelled:
            cancelled = True
            _stop(process)
        try:
            from_stderr, line = lines.get(timeout=POLL_S)
        except queue.Empty:
            continue
        if line is None:
            open_streams -= 1
        elif from_stderr:
            _on_stderr_line(line, run, feedback, progress_label)
        elif line.strip():
            run.last_lines.append(line)
            feedback.pushInfo(line)
    run.returncode = process.wait()
    if cancelled:
        raise QgsProcessingException(f"sarlign {run.command} cancelled")
    return run


def _on_stderr_line(line: str, run: Run, feedback: QgsProcessingFeedback, progress_label: str) -> None:
    """Progress to the progress bar; the error message, once it has begun, to errors; the rest to the log."""
    progress = PROGRESS_LINE.match(line)
    if progress:
        label, done, total = progress.group(1), int(progress.group(2)), int(progress.group(3))
        if label == progress_label and total > 0:
            feedback.setProgress(100.0 * done / total)
        return
    if not line.strip():
        return
    run.last_lines.append(line)
    if line.startswith("error:") or run.errors:
        run.errors.append(line if run.errors else line[len("error:") :].strip())
        feedback.reportError(line)
    else:
        feedback.pushInfo(line)


def _forward_lines(stream: IO[str], from_stderr: bool, lines: queue.Queue) -> None:
    """Put each line of ``stream`` on ``lines`` as (from_stderr, line), then (from_stderr, None) at its end."""
    for line in stream:
        lines.put((from_stderr, line.rstrip("\r\n")))
    lines.put((from_stderr, None))


def _own_process_group() -> dict:
    """Popen options: on POSIX a process group of its own for sarlign and its workers, so that a cancel reaches
    them all (and only them); on Windows no console window."""
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": subprocess.CREATE_NO_WINDOW}


def _stop(process: subprocess.Popen) -> None:
    """End sarlign and its Dask workers. POSIX: SIGTERM to its process group (a batch then keeps the pairs it
    finished), SIGKILL to whatever is left after :data:`STOP_GRACE_S`. Windows: end the process tree."""
    if os.name != "posix":
        subprocess.run(["taskkill", "/F", "/T", "/PID", str(process.pid)], capture_output=True)
        process.wait()
        return
    _signal_group(process, signal.SIGTERM)
    try:
        process.wait(timeout=STOP_GRACE_S)
    except subprocess.TimeoutExpired:
        pass
    _signal_group(process, signal.SIGKILL)
    process.wait()


def _signal_group(process: subprocess.Popen, signum: int) -> None:
    """Send ``signum`` to sarlign's process group, if any of it is left."""
    try:
        os.killpg(process.pid, signum)
    except ProcessLookupError:
        pass
