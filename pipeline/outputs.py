"""The set of files one registration writes, and the checks that they can be written, made before any work.

Every output lies beside the output raster ``NAME.tif``, in one folder: nothing is written anywhere
else. A run replaces the whole set (with ``--overwrite``): outputs of an earlier run that this run does
not write (``NAME_resampled.tif`` without ``--resample``, a ``NAME.failed.json``) are removed when the new
set is in place, so a folder never mixes two runs.
"""

from __future__ import annotations

import dataclasses
import os
import tempfile
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from sarlign.errors import InputError
from sarlign.locations import is_local_file

# Characters GDAL reads as syntax in a dataset name: with ';' or '!' in its path the GeoPackage driver
# writes a file of another name (seen: "a;b.gpkg" became ".a"). Control characters are never meant.
UNSAFE_CHARACTERS = frozenset(";!")
NAME_MAX_BYTES = 255  # a file name's limit on common file systems
STAGING_EXTRA_BYTES = 1 + 1 + 20 + 8  # "." + "." + "<pid>-<hex8>" + ".partial": see georef.staging


@dataclass(frozen=True)
class OutputPaths:
    """Where one registration writes, all beside the output raster ``NAME.tif``.

    raster: the co-registered SAR (COG); report: NAME.json; tie_points: NAME.gpkg (styled for QGIS);
    points: NAME.tif.points (QGIS Georeferencer); stac: NAME.stac.json (STAC Item); resampled:
    NAME_resampled.tif (with ``--resample``); checkerboard, residual_map and field_map:
    NAME_checkerboard.png, NAME_residuals.png and NAME_field.png (with ``--quicklook``); displacement:
    NAME_displacement.tif, the field a richer model applies (see georef.displacement; written with one);
    failure: NAME.failed.json, the diagnosis of a refused fit (written instead of a result, never beside one).
    """

    raster: Path
    report: Path
    tie_points: Path
    points: Path
    stac: Path
    resampled: Path
    checkerboard: Path
    residual_map: Path
    field_map: Path
    displacement: Path
    failure: Path

    @staticmethod
    def beside(raster: Path) -> OutputPaths:
        stem = raster.with_suffix("")

        def named(suffix: str) -> Path:
            return stem.with_name(stem.name + suffix)

        return OutputPaths(
            raster,
            named(".json"),
            named(".gpkg"),
            raster.with_name(raster.name + ".points"),  # NAME.tif.points: QGIS's Georeferencer loads it with NAME.tif
            named(".stac.json"),
            named("_resampled.tif"),
            named("_checkerboard.png"),
            named("_residuals.png"),
            named("_field.png"),
            named("_displacement.tif"),
            named(".failed.json"),
        )

    @property
    def folder(self) -> Path:
        return self.raster.parent

    def every(self) -> dict[str, Path]:
        """Every file a run may write, by name."""
        return dataclasses.asdict(self)

    def wanted(self, resample: bool, quicklook: bool, field: bool = False) -> dict[str, Path]:
        """The outputs a successful run with these options writes, by name (the report's ``outputs`` keys);
        ``field``: the fit carries a richer model than the affine."""
        optional = {
            "resampled": resample, "checkerboard": quicklook, "residual_map": quicklook, "field_map": quicklook,
            "displacement": field, "failure": False,
        }
        return {k: v for k, v in self.every().items() if optional.get(k, True)}

    def unwanted(self, resample: bool, quicklook: bool, field: bool = False) -> list[Path]:
        """Files of the set that a successful run with these options does not write."""
        wanted = self.wanted(resample, quicklook, field)
        return [path for name, path in self.every().items() if name not in wanted]


def check_name(path: Path) -> None:
    """Refuse an output path GDAL would misread, or a file name too long once staged.

    Raises:
        InputError: names the path and the offending character or length.
    """
    text = str(path)
    odd = sorted({c for c in text if c in UNSAFE_CHARACTERS or unicodedata.category(c) == "Cc"})
    if odd:
        shown = ", ".join(repr(c) for c in odd)
        raise InputError(text, f"the output path holds {shown}, which GDAL reads as syntax; choose another name")
    if len(path.name.encode()) + STAGING_EXTRA_BYTES > NAME_MAX_BYTES:
        raise InputError(text, f"the output file name is too long (at most {NAME_MAX_BYTES - STAGING_EXTRA_BYTES} bytes)")


def check_outputs(outputs: OutputPaths, inputs: list[str], overwrite: bool) -> None:
    """Check, before any work, that every output can be written: no input overwritten, no existing output
    replaced without ``overwrite``, no directory in an output's place, a folder that exists and is
    writable, names GDAL reads as written.

    Raises:
        InputError: names the path and the problem.
    """
    _check_folder(outputs.folder)
    resolved_inputs = {Path(p).resolve() for p in inputs if is_local_file(p)}
    for path in outputs.every().values():
        _check_file_name(path)
    for name, target in outputs.every().items():
        if target.resolve() in resolved_inputs:
            raise InputError(str(target), "the output would overwrite an input")
        # Any file of an earlier run's set blocks: the new set replaces all of it (a refusal's diagnosis
        # is no result and is always replaced).
        if target.exists() and not overwrite and name != "failure":
            raise InputError(str(target), "exists already (pass --overwrite to replace it)")
    check_writable(outputs.folder)


def check_output_file(path: Path, overwrite: bool) -> None:
    """As :func:`check_outputs`, for a command that writes one file.

    Raises:
        InputError: names the path and the problem.
    """
    _check_folder(path.parent)
    _check_file_name(path)
    if path.exists() and not overwrite:
        raise InputError(str(path), "exists already (pass --overwrite to replace it)")
    check_writable(path.parent)


def _check_folder(folder: Path) -> None:
    if not folder.is_dir():
        problem = "is not a folder" if folder.exists() else "the output folder does not exist"
        raise InputError(str(folder), problem)


def _check_file_name(path: Path) -> None:
    check_name(path)
    if path.is_dir():
        raise InputError(str(path), "is a folder; an output file would go there (choose another output name)")


def check_writable(folder: Path) -> None:
    """Create and delete a file in ``folder``: the only test of writability that holds for every user and
    file system (permissions, read-only mounts, quotas).

    Raises:
        InputError: the folder cannot be written.
    """
    try:
        descriptor, probe = tempfile.mkstemp(prefix=".sarlign-probe-", dir=folder)
        os.close(descriptor)
        os.unlink(probe)
    except OSError as error:
        raise InputError(str(folder), f"the output folder cannot be written ({error.strerror or error})") from None


def remove_unwanted(outputs: OutputPaths, resample: bool, quicklook: bool, field: bool = False) -> None:
    """After a successful run: remove the files of the set this run did not write (an earlier run's
    optional outputs, or its refusal diagnosis)."""
    for path in outputs.unwanted(resample, quicklook, field):
        path.unlink(missing_ok=True)
