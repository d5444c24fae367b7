# sarlign: `make demo` sets everything up and registers the bundled sample pair; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch; set TORCH_SPEC to another requirement (e.g. a CUDA build) where wanted.
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
SARLIGN := $(VENV)/bin/sarlign
SAMPLE := data/sample
DEMO_OUT := demo-output

.PHONY: setup demo test lint eval bench-scene clean qgis qgis-plugin

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet "$(TORCH_SPEC)"
	$(PY) -m pip install --quiet -e ".[test]"
	touch $@

demo: setup
	mkdir -p $(DEMO_OUT)
	$(SARLIGN) register $(SAMPLE)/s2_reference.tif $(SAMPLE)/s1_aligned.tif -o $(DEMO_OUT)/s1_aligned_coreg.tif --overwrite --quiet
	$(SARLIGN) register $(SAMPLE)/s2_reference.tif $(SAMPLE)/s1_offset.tif -o $(DEMO_OUT)/s1_offset_coreg.tif --overwrite --resample --quicklook
	$(PY) $(SAMPLE)/show_correction.py $(DEMO_OUT)/s1_aligned_coreg.json $(DEMO_OUT)/s1_offset_coreg.json $(SAMPLE)/known_offset.json

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .

# QGIS (qgis_process and PyQGIS, 3.22 or later) from the distribution's packages, for the QGIS plugin's
# tests; nothing to do where it is installed.
qgis:
	command -v qgis_process.bin >/dev/null || { \
		sudo=$$([ "$$(id -u)" -eq 0 ] || echo sudo); \
		$$sudo apt-get update && \
		$$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends qgis python3-qgis qgis-providers; \
	}

# The QGIS Processing plugin as a ZIP for Plugins → Manage and Install Plugins → Install from ZIP.
PLUGIN_ZIP ?= dist/sarlign_processing.zip
qgis-plugin:
	mkdir -p $(dir $(PLUGIN_ZIP))
	find qgis_plugin -name __pycache__ -type d -prune -exec rm -rf {} +
	$(PYTHON) -m zipfile -c $(PLUGIN_ZIP) qgis_plugin/sarlign_processing

# The registration benchmark of BENCHMARKS.md (needs the shared data folder beside the checkout).
eval: setup
	$(SARLIGN) eval ../shared/data --output eval-cfog.json

# The whole-scene benchmark of BENCHMARKS.md: builds the 2745², 5490² and 10980² benchmark scenes from the
# shared data (once), AROSICS in its own environment (once), then times every configuration.
SCENES := bench-scenes
bench-scene: setup
	for size in 2745 5490 10980; do \
		test -f $(SCENES)/$$size/truth.json || $(PY) bench/make_scene.py ../shared/data --size $$size --out $(SCENES)/$$size; \
	done
	bash bench/arosics/setup.sh
	$(PY) bench/bench_scene.py $(SCENES)/2745 $(SCENES)/5490 $(SCENES)/10980 --matcher cfog learned-dense \
		--workers 1 2 --arosics $(SCENES)/5490 --arosics-window 256 512 --out bench-scene.json

clean:
	rm -rf $(DEMO_OUT) .pytest_cache
