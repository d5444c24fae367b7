"""All-or-nothing outputs: files are written under temporary names and renamed into place together.

Temporary files and folders carry the writing process's id (``.NAME.<pid>-<hex>.partial.tif``,
``.sarlign-overviews-<pid>-…``). A run that is killed outright (SIGKILL, a lost node) cannot delete its
own; the next run writing to the same folder removes those whose process is gone
(:func:`remove_stale_temporaries`), and nothing named like them is ever an output.
"""

from __future__ import annotations

import os
import re
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_TEMP_FILE = re.compile(r"^\..*\.(\d+)-[0-9a-f]{8}\.partial(\.[^.]*)?$")
_TEMP_FOLDER = re.compile(r"^\.sarlign-[a-z]+-(\d+)-")


def temporary_folder_prefix(purpose: str) -> str:
    """Prefix of a hidden temporary folder of this process (``tempfile``'s ``prefix``), e.g. for ``overviews``."""
    return f".sarlign-{purpose}-{os.getpid()}-"


@contextmanager
def staged(*finals: Path) -> Iterator[list[Path]]:
    """Yield a temporary path beside each final path; rename them all on success, delete them on error.

    The temporary names keep the final suffix (drivers pick formats by it) and start with a dot, so a
    crashed run leaves nothing that looks like an output.
    """
    token = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
    temps = [f.with_name(f".{f.stem}.{token}.partial{f.suffix}") for f in finals]
    try:
        yield temps
    except BaseException:
        for temp in temps:
            temp.unlink(missing_ok=True)
        raise
    for temp, final in zip(temps, finals):
        if temp.exists():
            os.replace(temp, final)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def remove_stale_temporaries(folder: Path) -> list[Path]:
    """Delete the temporary files and folders that sarlign runs which no longer exist left in ``folder``
    (runs still going on this machine keep theirs); returns what was removed."""
    removed = []
    try:
        entries = list(folder.iterdir())
    except OSError:
        return removed
    for entry in entries:
        match = _TEMP_FILE.match(entry.name) or _TEMP_FOLDER.match(entry.name)
        if match is None or _alive(int(match.group(1))):
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            entry.unlink(missing_ok=True)
        removed.append(entry)
    return removed
