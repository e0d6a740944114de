PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint bench clean

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	$(BIN)/pip install -q -e '.[dev]'
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/floorwatch demo

test: $(STAMP)
	$(BIN)/ruff check feeds tui tests benchmarks
	$(BIN)/lint-imports
	$(BIN)/pytest -q

bench: $(STAMP)
	$(BIN)/python benchmarks/bench_detect.py
	$(BIN)/python benchmarks/bench_hub.py
	$(BIN)/python benchmarks/bench_tui.py

clean:
	rm -rf $(VENV) .pytest_cache snapshot_report.html
