#!/usr/bin/env bash
# Set up a separate virtual environment for AROSICS (the reference co-registration tool that
# bench/arosics/run_coreg_local.py benchmarks sarlign against).
#
#     bash bench/arosics/setup.sh            # -> .venv-arosics/ in the repository root
#     AROSICS_VENV=/some/dir bash bench/arosics/setup.sh
#
# AROSICS needs GDAL's Python bindings, which are built here against the system libgdal
# (Debian bookworm ships GDAL 3.6.2), so this environment is kept apart from sarlign's own
# (.venv, which holds torch). Rerunning once the environment is complete does nothing.
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${AROSICS_VENV:-$REPO_ROOT/.venv-arosics}"
PYTHON="${PYTHON:-python3}"
GDAL_VERSION="3.6.2"
AROSICS_SPECS=(arosics==1.12.1 geoarray==0.17.2 py_tools_ds==0.21.1)
MARKER="$VENV/.arosics-installed"
# Bump when the package list changes, so that an older environment is completed.
MARKER_CONTENT="gdal=$GDAL_VERSION ${AROSICS_SPECS[*]} v1"

if [[ -f "$MARKER" && "$(cat "$MARKER")" == "$MARKER_CONTENT" ]]; then
    echo "AROSICS environment already complete: $VENV"
    exit 0
fi

# --- system GDAL (headers + gdal-config) -------------------------------------------------
if ! command -v gdal-config >/dev/null 2>&1; then
    if [[ "$(id -u)" -eq 0 ]]; then
        SUDO=()
    elif command -v sudo >/dev/null 2>&1; then
        SUDO=(sudo)
    else
        echo "error: gdal-config not found and not root (no sudo): install libgdal-dev and gdal-bin first" >&2
        exit 1
    fi
    echo "Installing libgdal-dev and gdal-bin with apt-get ..."
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq libgdal-dev gdal-bin
fi
SYSTEM_GDAL="$(gdal-config --version)"
if [[ "$SYSTEM_GDAL" != "$GDAL_VERSION" ]]; then
    echo "warning: system GDAL is $SYSTEM_GDAL, building the Python bindings GDAL==$SYSTEM_GDAL instead of $GDAL_VERSION" >&2
    GDAL_VERSION="$SYSTEM_GDAL"
fi

# --- virtual environment ----------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]]; then
    "$PYTHON" -m venv "$VENV"
fi
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check)
"${PIP[@]}" install --quiet --upgrade pip
"${PIP[@]}" install --quiet numpy wheel setuptools
# The bindings must match the C library; without build isolation they compile against the numpy above
# (and so get the gdal_array module that AROSICS needs).
"${PIP[@]}" install --quiet --no-build-isolation --no-cache-dir "GDAL==$GDAL_VERSION"
"${PIP[@]}" install --quiet "${AROSICS_SPECS[@]}"

"$VENV/bin/python" - <<'PY'
from osgeo import gdal, gdal_array  # noqa: F401  (gdal_array fails when built without numpy)
import arosics
print(f"AROSICS {arosics.__version__} with GDAL {gdal.__version__}")
PY
echo "$MARKER_CONTENT" > "$MARKER"
echo "AROSICS environment ready: $VENV"
