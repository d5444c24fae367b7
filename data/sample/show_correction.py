"""Print the correction sarlign recovered on the demo pair next to the known one.

    python data/sample/show_correction.py ALIGNED_REPORT.json OFFSET_REPORT.json known_offset.json

The dataset's own alignment is off by a few pixels, so the registration of the aligned SAR measures that
error; the offset SAR's correction minus it is what the known offset should be undone by.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main(aligned_report: Path, offset_report: Path, known_file: Path) -> None:
    aligned = json.loads(aligned_report.read_text())["correction"]
    report = json.loads(offset_report.read_text())
    offset = report["correction"]
    known = json.loads(known_file.read_text())
    rows = [
        ("known offset undone by", known["expected_correction_m"], known["expected_correction_px"]),
        ("recovered, offset SAR", offset["shift_m"], offset["shift_px"]),
        ("recovered, aligned SAR (dataset's own error)", aligned["shift_m"], aligned["shift_px"]),
        (
            "offset SAR minus aligned SAR",
            [o - a for o, a in zip(offset["shift_m"], aligned["shift_m"])],
            [o - a for o, a in zip(offset["shift_px"], aligned["shift_px"])],
        ),
    ]
    options = report["options"]
    print(f"matcher: {options['matcher']}" + (" + learned patch verifier" if options.get("verify") else ""))
    print(f"{'':48s} {'east m':>9s} {'north m':>9s} {'x px':>7s} {'y px':>7s}")
    for label, metres, pixels in rows:
        print(f"{label:48s} {metres[0]:+9.2f} {metres[1]:+9.2f} {pixels[0]:+7.2f} {pixels[1]:+7.2f}")
    error = [r - k for r, k in zip(rows[3][2], known["expected_correction_px"])]
    print(f"\nrecovered minus known: ({error[0]:+.2f}, {error[1]:+.2f}) px")


if __name__ == "__main__":
    main(*(Path(a) for a in sys.argv[1:4]))
