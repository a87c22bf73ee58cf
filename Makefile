# Two commands for a fresh machine: `make run` and `make test`. Both go through `make install`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
PO := $(wildcard locales/*/LC_MESSAGES/messages.po)
MO := $(PO:.po=.mo)

.PHONY: install run test lint messages bench bench-writers

install: $(STAMP) $(MO)

$(STAMP): pyproject.toml tests/example_plugin/pyproject.toml testing/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]' -e tests/example_plugin -e testing
	touch $(STAMP)

locales/%/LC_MESSAGES/messages.mo: locales/%/LC_MESSAGES/messages.po $(STAMP)
	$(BIN)/pybabel compile --statistics -d locales -D messages -l $*

run: install
	$(BIN)/shop serve --test-payments

lint: install
	$(BIN)/ruff check shop tests bench testing
	$(BIN)/ruff format --check shop tests bench testing
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest

# Re-extract messages after changing texts; then translate de and nl.
messages: install
	$(BIN)/pybabel extract --no-location --sort-output -F babel.cfg -o locales/messages.pot .
	$(BIN)/pybabel update --no-fuzzy-matching --ignore-obsolete -i locales/messages.pot -d locales -D messages

# Benchmarks (see README "Benchmarks"): the shop against its references, into bench/results.md.
# `make bench RENEWALS="10000 100000"` sets the renewal sizes; BENCH_QUICK=1 makes a short run.
bench: install
	$(BIN)/python bench/run.py

# Load without loss alone: 64 writers for 60 s against a SQLite-backed shop, checked after.
bench-writers: install
	$(BIN)/python bench/writers.py --writers 64 --seconds 60
