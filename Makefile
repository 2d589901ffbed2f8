# The README's commands. Each target creates or refreshes .venv itself, so a fresh machine with
# only python3 and make is enough.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench soak fuzz clean venv

venv: $(STAMP)

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

# The sample market maker against the embedded simulator (clock x120: an hour of funding every
# 30 s) with the live dashboard; Ctrl-C stops it cleanly. ARGS="--duration 2m" etc. pass through.
run: $(STAMP)
	$(BIN)/python -m krakenfutures.cli run examples/market_maker.py --env sim $(ARGS)

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/lint-imports
	$(BIN)/mypy

test: lint
	$(BIN)/python -m pytest -n 2 -m "not slow" tests

bench: $(STAMP)
	$(BIN)/python -m benchmarks

soak: $(STAMP)
	$(BIN)/python -m pytest -m slow tests

# Property tests (encoders, decoders, signing, books, rules, the tracker) with thousands of
# examples each; tests that pin their own example count keep it.
fuzz: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q --hypothesis-profile=fuzz -m "not slow" tests/core tests/oms tests/risk tests/client/test_feed_books.py

clean:
	rm -rf $(VENV) build *.egg-info src/*.egg-info
