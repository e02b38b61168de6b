# aims-graph: `make help` lists the targets. Every target creates .venv on first use.
PYTHON ?= python3
VENV   := .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed-stamp

.DEFAULT_GOAL := help

$(STAMP): pyproject.toml
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $(STAMP)

.PHONY: help venv run test test-fast lint format bench docs catalogue frameworks screenshots clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-10s %s\n", $$1, $$2}'

venv: $(STAMP) ## create .venv and install the project with its dev tools

run: $(STAMP) ## load the example organisation into the embedded store and serve it
	@echo "To sign in to the pages, make an account (before or while it runs): $(VENV)/bin/aims user add NAME --role admin --data $${AIMS_DATA_DIR:-aims-data}"
	$(VENV)/bin/aims serve --load examples/*.ttl

# Two at a time (pytest-xdist; a test file stays on one worker, so its fixtures are set up once),
# then, alone, the tests that assert how long something waits (a second worker's load would be theirs).
PARALLEL := -n 2 --dist loadfile

test: $(STAMP) ## run the test suite
	$(PY) -m pytest -q $(PARALLEL) -m "not timing"
	$(PY) -m pytest -q -m timing

test-fast: $(STAMP) ## the tests without the slow suites (browser, W3C through the CLI, servers as other users)
	$(PY) -m pytest -q $(PARALLEL) -m "not slow and not timing"
	$(PY) -m pytest -q -m "timing and not slow"

lint: $(STAMP) ## ruff (lint and format check) and mypy on service/
	$(VENV)/bin/ruff check service tests scripts bench
	$(VENV)/bin/ruff format --check service tests scripts bench
	$(VENV)/bin/mypy service

format: $(STAMP) ## reformat the code with ruff
	$(VENV)/bin/ruff format service tests scripts bench
	$(VENV)/bin/ruff check --fix service tests scripts bench

bench: $(STAMP) ## print the benchmark figures (bench/run.py)
	$(PY) bench/run.py

docs: $(STAMP) ## generate docs/vocabulary.md (ontology), docs/rules.md (shapes) and docs/crosswalks.md (mappings)
	$(PY) scripts/build_docs.py
	$(PY) scripts/build_rules.py
	$(PY) scripts/build_crosswalk_docs.py

frameworks: $(STAMP) ## regenerate the AI Act and NIST AI RMF catalogues and the crosswalks (ontology/mappings.ttl)
	$(PY) scripts/build_frameworks.py
	$(PY) scripts/build_mappings.py

catalogue: $(STAMP) ## regenerate ontology/iso42001.ttl from vendor/iso42001/*.csv
	$(PY) scripts/build_catalogue.py

screenshots: $(STAMP) ## full-page PNGs of the site in docs/screenshots/ (needs Debian chromium)
	$(PY) scripts/screenshots.py

clean: ## remove the virtual environment, caches and local data
	rm -rf $(VENV) build dist *.egg-info .pytest_cache .mypy_cache .ruff_cache aims-data
