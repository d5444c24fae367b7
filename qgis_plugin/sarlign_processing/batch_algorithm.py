"""``sarlign:batch``: register the scene pairs a CSV file lists."""

from __future__ import annotations

import csv
import time
from pathlib import Path
from typing import Any

from qgis.core import (
    QgsProcessingContext,
    QgsProcessingException,
    QgsProcessingFeedback,
    QgsProcessingOutputFile,
    QgsProcessingParameterFile,
    QgsProcessingParameterFolderDestination,
)

from .algorithm import EXECUTABLE_HELP, SarlignAlgorithm
from .runner import Run, run_sarlign

SUMMARY_NAME = "batch_summary.csv"  # what sarlign batch writes in its output folder


class BatchAlgorithm(SarlignAlgorithm):
    """Runs ``sarlign batch``: each pair's outputs and a summary of them all in one folder."""

    PAIRS = "PAIRS"
    OUT_DIR = "OUT_DIR"
    SUMMARY = "SUMMARY"

    def name(self) -> str:
        return "batch"

    def displayName(self) -> str:
        return "Batch register"

    def shortHelpString(self) -> str:
        return (
            "Registers every scene pair of a CSV file with sarlign batch. The CSV has a header row with the "
            "columns reference and sar (relative paths are read from the CSV's folder), optionally name (else "
            "the SAR file's stem) and per-pair options such as matcher or transform.\n\n"
            "Each pair's NAME.tif, NAME.json and NAME.gpkg go to the output folder, with batch_summary.csv "
            "listing every pair's status, correction and RMSE. Running again resumes: pairs already complete "
            "are skipped. A pair that fails does not stop the others, but fails the algorithm at the end.\n\n"
            + EXECUTABLE_HELP
        )

    def initAlgorithm(self, config: Any = None) -> None:
        self.addParameter(QgsProcessingParameterFile(self.PAIRS, "Pairs (CSV file)", extension="csv"))
        self.addMatcherParameters()
        self.addWorkersParameter()
        self.addParameter(QgsProcessingParameterFolderDestination(self.OUT_DIR, "Output folder"))
        self.addOutput(QgsProcessingOutputFile(self.SUMMARY, "Batch summary (CSV)"))

    def processAlgorithm(
        self, parameters: dict[str, Any], context: QgsProcessingContext, feedback: QgsProcessingFeedback
    ) -> dict[str, Any]:
        out_dir = self.parameterAsFileOutput(parameters, self.OUT_DIR, context)
        summary = Path(out_dir) / SUMMARY_NAME
        started = time.time()
        arguments = ["batch", f"--out-dir={out_dir}", *self.matcherArguments(parameters, context)]
        run = run_sarlign(arguments, [self.parameterAsFile(parameters, self.PAIRS, context)], feedback, "pairs")
        if run.returncode:
            raise _batch_failure(run, summary, started)
        return {self.SUMMARY: str(summary), self.OUT_DIR: out_dir}


def _batch_failure(run: Run, summary: Path, started: float) -> QgsProcessingException:
    """The exception for a failed batch: the failed pairs and their reasons when this run wrote its summary
    (pairs failed, the others are done), else sarlign's own error."""
    if run.errors or not summary.exists() or summary.stat().st_mtime < started:
        return run.failure()
    with open(summary, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    failed = [f"{row['name']}: {row['error']}" for row in rows if row["status"] == "failed"]
    return QgsProcessingException(
        f"sarlign batch: {len(failed)} of {len(rows)} pairs failed (every pair's status is in {summary}):\n"
        + "\n".join(failed)
    )
