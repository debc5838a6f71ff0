# One command each: `make demo` sets everything up and runs the demo audit;
# `make check` sets everything up and runs lint, types and the tests (CI runs exactly this).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: system-packages demo check test lint types bench bench-lineage bench-thresholds bench-mitigation bench-report bench-app bench-engines coverage clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/fairtrail demo

check: $(STAMP) system-packages
	PATH="$(CURDIR)/$(BIN):$$PATH" scripts/check

test: $(STAMP) system-packages
	$(BIN)/python -m pytest

# Debian packages the tests need (chromium, PostgreSQL's server), installed once when missing.
system-packages:
	scripts/install_system_packages

lint: $(STAMP)
	$(BIN)/ruff check audit lineage reports fairtrail app.py tests benchmarks scripts examples

types: $(STAMP)
	$(BIN)/mypy

# aequitas 1.1 needs pandas < 3: it gets a venv of its own, used only by the benchmark.
AEQ_VENV  := .bench/aequitas-venv
AEQ_STAMP := $(AEQ_VENV)/.installed

$(AEQ_STAMP):
	$(PYTHON) -m venv $(AEQ_VENV)
	$(AEQ_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(AEQ_VENV)/bin/python -m pip install --quiet "aequitas==1.1.0" "pandas>=2.2,<3" pyarrow
	touch $(AEQ_STAMP)

bench: $(STAMP) $(AEQ_STAMP)
	$(BIN)/python benchmarks/bench_audit.py --aequitas-python $(AEQ_VENV)/bin/python $(ARGS)

bench-lineage: $(STAMP)
	$(BIN)/python benchmarks/bench_lineage.py $(ARGS)

bench-thresholds: $(STAMP)
	$(BIN)/python benchmarks/bench_thresholds.py $(ARGS)

bench-mitigation: $(STAMP)
	$(BIN)/python benchmarks/bench_mitigation.py $(ARGS)

bench-report: $(STAMP)
	$(BIN)/python benchmarks/bench_report.py $(ARGS)

bench-app: $(STAMP)
	$(BIN)/python benchmarks/bench_app.py $(ARGS)

bench-engines: $(STAMP)
	$(BIN)/python benchmarks/bench_engines.py $(ARGS)

# Coverage of every interval kind: 500 simulated audits per setting, beside the bootstrap
# intervals of commit 7ae0179 (checked out under .bench/ with git worktree).
coverage: $(STAMP)
	$(BIN)/python benchmarks/coverage.py --old 7ae0179 $(ARGS)

clean:
	rm -rf $(VENV) dist build .pytest_cache .mypy_cache .ruff_cache fairtrail-demo
