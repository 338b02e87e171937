# docray developer commands. `make demo` and `make test` are the two set-up commands of the README.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.docray-installed

.PHONY: install demo test bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)  ## create .venv and install docray with its test extras

demo: install  ## parse the bundled sample PDF with the standard pipeline
	$(VENV)/bin/docray run pipelines/standard.yaml --input samples/sample.pdf --output out/sample
	@echo "--- out/sample/files/sample/auto/sample.md (first lines) ---"
	@head -n 20 out/sample/files/sample/auto/sample.md

test: install  ## run the test suite
	$(PY) -m pytest -q

bench: install  ## pages/s of the fast pipeline on ../shared/eval (see benchmarks/README.md)
	$(PY) benchmarks/bench_pipeline.py

clean:
	rm -rf out build dist *.egg-info
