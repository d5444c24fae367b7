"""The pairs file of ``sarlign batch``: a CSV of reference, SAR, name and per-pair options.

Every column but ``reference``, ``sar`` and ``name`` is an option of ``sarlign register`` spelled with
underscores (see :mod:`sarlign.pipeline.options`); its cells override the batch's value of it for their
pair. Everything here is checked before a cluster starts.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sarlign.errors import InputError, OptionError
from sarlign.locations import display_name, resolved
from sarlign.pipeline.options import (
    BY_NAME,
    PER_PAIR,
    RegisterOptions,
    cell_value,
    check_options,
    option_named,
    register_options,
)
from sarlign.pipeline.outputs import NAME_MAX_BYTES, STAGING_EXTRA_BYTES

REQUIRED_COLUMNS = ("reference", "sar")

# Names of the batch's own files in the out dir (batch_summary.csv/.json, batch.log): no pair may take them.
RESERVED_NAMES = frozenset({"batch_summary", "batch"})
_NAME_START = re.compile(r"^[^\W_]", re.UNICODE)  # a letter or digit
_UNSAFE_IN_NAME = re.compile(r"[/\\]|[^\w .,+@=~()\[\]-]", re.UNICODE)


@dataclass(frozen=True)
class BatchPair:
    """One row of the pairs file: a reference and a SAR raster (anything GDAL opens) and a stable name."""

    name: str
    reference: str
    sar: str
    options: RegisterOptions = field(default_factory=RegisterOptions)  # the batch's, with the pair's own on top
    line: int = 0  # where the pair is in the pairs file, for messages


def name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a pair's outputs (``OUT_DIR/NAME.tif`` …), or None: a pair's outputs must
    stay in the out dir and not take the batch's own files, so a name is a plain file name (letters,
    digits, spaces and ``.,+@=~()[]-_``, starting with a letter or digit, no path separators) and not one
    of :data:`RESERVED_NAMES`."""
    if not name:
        return "is empty"
    if not _NAME_START.match(name) or _UNSAFE_IN_NAME.search(name) or name.endswith((".", " ")):
        return ("must be a plain file name: letters, digits, spaces and .,+@=~()[]-_, starting with a letter "
                "or digit, no '/' or '\\'")
    if name.lower() in RESERVED_NAMES:
        return f"is reserved for the batch's own files ({', '.join(sorted(RESERVED_NAMES))})"
    if len(name.encode()) > NAME_MAX_BYTES - STAGING_EXTRA_BYTES - len("_checkerboard.png"):
        return "is too long for a file name"
    return None


def name_from_location(location: str) -> str:
    """A pair name from its SAR's location (file or URL), made a plain file name: the last part without
    its extension, characters a name may not hold replaced by ``_``."""
    stem = display_name(location).split("?", 1)[0].rsplit(".", 1)[0]
    name = _UNSAFE_IN_NAME.sub("_", stem).strip(" .")
    return name if _NAME_START.match(name) else f"pair_{name}"



def read_pairs(path: Path, values: Mapping[str, object] | None = None) -> list[BatchPair]:
    """The pairs of a CSV file with a header row: ``reference``, ``sar``, optionally ``name`` (else the
    SAR file's stem) and any per-pair option (``max_rotation``, ``reference_bands``: an option of
    ``sarlign register`` with underscores), whose cells override the batch's option ``values`` for their
    pair (an empty cell keeps the batch's). Relative local paths are taken relative to the CSV file. Each
    pair's options are checked here, before any cluster starts.

    Raises:
        InputError: unreadable file, missing or unknown columns, empty or bad cells, options that cannot
            work, or duplicate names; the message names the line and column.
    """
    try:
        # utf-8-sig: Excel writes CSV as UTF-8 with a byte-order mark, which would stick to the first column.
        with open(path, newline="", encoding="utf-8-sig") as f:
            rows = list(csv.DictReader(f))
            columns = set(rows[0].keys()) if rows else set()
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise InputError(str(path), f"cannot be read as CSV ({error})") from error
    if not rows:
        raise InputError(str(path), "has no pairs (a header row with 'reference' and 'sar', then one row per pair)")
    missing = [c for c in REQUIRED_COLUMNS if c not in columns]
    if missing:
        raise InputError(str(path), f"lacks the column(s) {', '.join(missing)}")
    _check_columns(path, columns)
    pairs = []
    for line, row in enumerate(rows, start=2):
        if not row["reference"] or not row["sar"]:
            raise InputError(str(path), f"line {line}: 'reference' and 'sar' must both be given")
        reference, sar = (resolved(row[c].strip(), path.parent) for c in REQUIRED_COLUMNS)
        given = (row.get("name") or "").strip()
        name = given or name_from_location(sar)
        problem = name_problem(name)
        if problem:
            raise InputError(str(path), f"line {line}: pair name {name!r} {problem}")
        pairs.append(BatchPair(name, reference, sar, _pair_options(path, line, row, values or {}), line))
    names = [p.name for p in pairs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise InputError(str(path), f"pair names must be unique; repeated: {', '.join(duplicates)}")
    return pairs


def _check_columns(path: Path, columns: set[str | None]) -> None:
    """Every column is ``reference``, ``sar``, ``name`` or a per-pair option.

    Raises:
        InputError: naming the first column that is none of these (a batch-wide option says so).
    """
    for column in sorted(columns - {*REQUIRED_COLUMNS, "name", *PER_PAIR}, key=str):
        if column is None:  # csv.DictReader's key for cells beyond the header's columns
            raise InputError(str(path), "a row has more cells than the header has columns")
        if column in BY_NAME:
            raise InputError(str(path), f"column {column!r}: {BY_NAME[column].flag} applies to the whole batch; give it on the command line")
        raise InputError(str(path), f"unknown column {column!r}: columns are reference, sar, name and the "
                         f"options of `sarlign register` with underscores ({', '.join(PER_PAIR)})")


def _pair_options(path: Path, line: int, row: dict[str, str], values: Mapping[str, object]) -> RegisterOptions:
    """The batch's option ``values`` with the row's non-empty option cells on top, as checked options."""
    given = dict(values)
    for column in PER_PAIR:
        text = (row.get(column) or "").strip()
        if text:
            try:
                given[column] = cell_value(column, text)
            except ValueError as error:
                raise InputError(str(path), f"line {line}: {column} {text!r}: {error}") from None
    try:
        options = register_options(given)
        check_options(options)
    except OptionError as error:
        column = option_named(error.option).name
        where = "its column" if column in row and (row.get(column) or "").strip() else f"the batch's {error.option}"
        raise InputError(str(path), f"line {line}: {column} ({where}): {error.problem}") from None
    return options


