PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BUILT := $(VENV)/.built
#: The compiled detection core: every feeds module with a .pxd (setup.py, feeds/core/compiled.py).
CORE := $(wildcard feeds/core/*.pxd) $(patsubst %.pxd,%.py,$(wildcard feeds/core/*.pxd))

.PHONY: demo test build bench bench-tools clean tools

$(STAMP): pyproject.toml
	$(PY) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip
	FLOORWATCH_PURE_PYTHON=1 $(BIN)/pip install -q -e '.[dev]'  # compiled below, once
	touch $(STAMP)

# Recompiles the core when its sources change; without a C compiler the core stays
# pure Python (same results, slower) and this only warns. Profile-guided (setup.py):
# built instrumented, trained on a replay (benchmarks/pgo_train.py), built again; the
# instrumented modules are removed first, so a failed final build leaves none behind.
$(BUILT): $(STAMP) setup.py feeds/core/buildinfo.py $(CORE) benchmarks/pgo_train.py
	rm -rf build/pgo
	FLOORWATCH_PGO=generate $(BIN)/python setup.py -q build_ext --inplace --force -j 2
	$(BIN)/python benchmarks/pgo_train.py
	rm -f feeds/core/*.so feeds/core/compiled_from.json
	FLOORWATCH_PGO=use $(BIN)/python setup.py -q build_ext --inplace --force -j 2
	touch $(BUILT)

build: $(BUILT)

demo: $(BUILT)
	$(BIN)/floorwatch demo

#: What the tests drive besides Python: the OpenSSH client and tmux for `floorwatch ssh`;
#: Debian's Chromium for `floorwatch web`, and tesseract to read its screenshots
#: (tests/remote); espeak-ng and sox to make real speech for the audio analysis
#: (tests/sources).
tools:
	@command -v ssh >/dev/null && command -v ssh-keygen >/dev/null && command -v tmux >/dev/null \
		&& command -v chromium >/dev/null && command -v tesseract >/dev/null \
		&& command -v espeak-ng >/dev/null && command -v sox >/dev/null \
		|| (apt-get update -qq && apt-get install -y -qq openssh-client tmux chromium \
			tesseract-ocr espeak-ng sox)

test: $(BUILT) tools
	$(BIN)/ruff check feeds tui tests benchmarks setup.py
	$(BIN)/lint-imports
	$(BIN)/pytest -q

#: What bench_audio compares the analysis with (not needed to use or test floorwatch).
bench-tools: $(BUILT) tools
	$(BIN)/pip install -q -r benchmarks/requirements-audio.txt

bench: $(BUILT) bench-tools
	$(BIN)/python benchmarks/bench_detect.py
	$(BIN)/python benchmarks/bench_hub.py
	$(BIN)/python benchmarks/bench_tui.py
	$(BIN)/python benchmarks/bench_bandwidth.py
	$(BIN)/python benchmarks/bench_soak.py
	$(BIN)/python benchmarks/bench_ssh.py
	$(BIN)/python -W ignore benchmarks/bench_audio.py
	$(BIN)/python benchmarks/bench_gateway.py

clean:
	rm -rf $(VENV) .pytest_cache snapshot_report.html build feeds/core/*.c feeds/core/*.so feeds/core/compiled_from.json
