# sarlign: `make demo` sets everything up and registers the bundled sample pair; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
# The CPU build of torch; set TORCH_SPEC to another requirement (e.g. a CUDA build) where wanted.
TORCH_SPEC ?= torch==2.13.0
PY := $(VENV)/bin/python
SARLIGN := $(VENV)/bin/sarlign
SAMPLE := data/sample
DEMO_OUT := demo-output

.PHONY: setup demo test lint eval clean

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
	$(SARLIGN) register $(SAMPLE)/s2_reference.tif $(SAMPLE)/s1_offset.tif -o $(DEMO_OUT)/s1_offset_coreg.tif --overwrite --resample
	$(PY) $(SAMPLE)/show_correction.py $(DEMO_OUT)/s1_aligned_coreg.json $(DEMO_OUT)/s1_offset_coreg.json $(SAMPLE)/known_offset.json

test: setup
	$(PY) -m pytest

lint: setup
	$(VENV)/bin/ruff check .

# The registration benchmark of BENCHMARKS.md (needs the shared data folder beside the checkout).
eval: setup
	$(SARLIGN) eval ../shared/data --output eval-cfog.json

clean:
	rm -rf $(DEMO_OUT) .pytest_cache
