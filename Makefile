# docray developer commands. `make demo` and `make test` are the two set-up commands of the README.
PYTHON ?= python3
VENV   ?= .venv
PY      = $(VENV)/bin/python
STAMP   = $(VENV)/.docray-installed

.PHONY: install demo test bench clean texlive chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	# torch alone first: pip then takes the CPU wheel (torch==2.13.0+cpu); resolved together with the dev extras it
	# can pick PyPI's CUDA build (several GB of nvidia packages). Once installed, the extras' torch==2.13.0 keeps it.
	$(PY) -m pip install --quiet 'torch==2.13.0'
	$(PY) -m pip install --quiet -e '.[dev,serve]'
	touch $(STAMP)

KATEX   = tools/katex/node_modules/.package-lock.json

$(KATEX): tools/katex/package-lock.json  # KaTeX for the math tests; skipped (tests say why) when npm is missing
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix tools/katex --no-audit --no-fund; \
	else echo "npm not found: KaTeX math check unavailable, math tests fall back to the approximate check"; fi

TEXLIVE = texlive-latex-base texlive-latex-recommended texlive-fonts-recommended

texlive:  ## pdflatex (Debian's texlive) for the formula tests and benchmarks; skipped (tests say why) when it cannot install
	@if command -v pdflatex >/dev/null 2>&1; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(TEXLIVE) >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends $(TEXLIVE) >/dev/null; } || \
		echo "texlive did not install: LaTeX formula tests will be skipped"; \
	else echo "pdflatex not found and apt-get unavailable (or not root): LaTeX formula tests will be skipped"; fi

CHROMIUM = chromium chromium-driver

chromium:  ## Debian's headless Chromium + chromedriver for docray serve's browser test; skipped (the test says why) when it cannot install
	@if [ -x /usr/bin/chromium ] && [ -x /usr/bin/chromedriver ]; then :; \
	elif command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ]; then \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(CHROMIUM) >/dev/null 2>&1 || \
		{ apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $(CHROMIUM) >/dev/null; } || \
		echo "chromium did not install: the web page's browser test will be skipped"; \
	else echo "chromium not found and apt-get unavailable (or not root): the web page's browser test will be skipped"; fi

install: $(STAMP) $(KATEX) texlive chromium  ## create .venv, install docray with its test and serve extras, KaTeX (npm ci), texlive, chromium

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
