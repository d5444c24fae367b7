"""What the sarlign algorithms share: the matcher, transform and worker parameters."""

from __future__ import annotations

from typing import Any

from qgis.core import (
    QgsProcessingAlgorithm,
    QgsProcessingContext,
    QgsProcessingParameterDefinition,
    QgsProcessingParameterEnum,
    QgsProcessingParameterNumber,
)

# `sarlign matchers` and `sarlign register --help` (--transform); the first of each is sarlign's default.
MATCHERS = ("cfog", "learned-cfog", "learned-dense", "learned-keypoint")
TRANSFORMS = ("affine", "translation", "polynomial2", "polynomial3", "local", "auto")  # sarlign's --transform
# The last paragraph of every algorithm's help.
EXECUTABLE_HELP = (
    "Runs the sarlign executable set in Processing → Options → Providers → sarlign (else "
    "$SARLIGN_EXECUTABLE, else sarlign on PATH)."
)


class SarlignAlgorithm(QgsProcessingAlgorithm):
    """Base of the sarlign algorithms, each of which runs one ``sarlign`` subcommand (see :mod:`.runner`)."""

    MATCHER = "MATCHER"
    TRANSFORM = "TRANSFORM"
    WORKERS = "WORKERS"

    def createInstance(self) -> SarlignAlgorithm:
        return type(self)()

    def addMatcherParameters(self) -> None:
        """MATCHER and TRANSFORM, as names (``MATCHER=learned-dense`` under qgis_process)."""
        self.addParameter(
            QgsProcessingParameterEnum(
                self.MATCHER, "Matcher", options=list(MATCHERS), defaultValue=MATCHERS[0], usesStaticStrings=True
            )
        )
        self.addParameter(
            QgsProcessingParameterEnum(
                self.TRANSFORM,
                "Transform (local, polynomials: load the resampled output to see them as they are)",
                options=list(TRANSFORMS),
                defaultValue=TRANSFORMS[0],
                usesStaticStrings=True,
            )
        )

    def addWorkersParameter(self) -> None:
        """WORKERS (advanced): local Dask worker processes; empty for one per core."""
        workers = QgsProcessingParameterNumber(
            self.WORKERS,
            "Worker processes (empty: one per core)",
            type=QgsProcessingParameterNumber.Integer,
            optional=True,
            minValue=1,
        )
        workers.setFlags(workers.flags() | QgsProcessingParameterDefinition.FlagAdvanced)
        self.addParameter(workers)

    def matcherArguments(self, parameters: dict[str, Any], context: QgsProcessingContext) -> list[str]:
        """``--matcher``, ``--transform`` and, when set, ``--workers`` for the command line."""
        arguments = [
            "--matcher",
            self.parameterAsEnumString(parameters, self.MATCHER, context),
            "--transform",
            self.parameterAsEnumString(parameters, self.TRANSFORM, context),
        ]
        workers = self.parameterAsInt(parameters, self.WORKERS, context)  # 0 when left empty
        if workers:
            arguments += ["--workers", str(workers)]
        return arguments
