"""All-or-nothing outputs: files are written under temporary names and renamed into place together."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def staged(*finals: Path) -> Iterator[list[Path]]:
    """Yield a temporary path beside each final path; rename them all on success, delete them on error.

    The temporary names keep the final suffix (drivers pick formats by it) and start with a dot, so a
    crashed run leaves nothing that looks like an output.
    """
    token = uuid.uuid4().hex[:8]
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
