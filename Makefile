# The two commands of the README: `make demo` and `make test`. Each does its own set-up.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)

.PHONY: setup test test-matrix demo demo-down lint sanity units molecule build clean help

help:
	@echo "make demo       deploy the stack onto local test hosts and print where to look"
	@echo "make test       lint, sanity, unit/integration tests, Molecule scenarios"
	@echo "make test-matrix  the version-line matrix: prometheus_lines on bookworm, trixie and sid,"
	@echo "                 prometheus_upgrade (2.53 -> 3.5), prometheus_default on Debian 12 hosts"
	@echo "make demo-down  remove everything the demo made"
	@echo "make setup      only the set-up (system packages, venv)"

setup: $(VENV)/.installed
	@scripts/setup-system.sh

$(VENV)/.installed: requirements-dev.txt
	@echo "setup: creating $(VENV) with the pinned toolchain (about a minute)"
	@$(PYTHON) -m venv $(VENV)
	@$(VENV)/bin/pip install -q --disable-pip-version-check -r requirements-dev.txt 2>&1 | grep -v "^WARNING: Location" || true
	@$(VENV)/bin/python -c "import ansible, molecule, moto, promql_parser" 
	@touch $@

test: setup
	@scripts/test.sh $(TEST_ARGS)

test-matrix: setup
	@scripts/test.sh --matrix $(TEST_ARGS)

lint: setup
	@scripts/test.sh --only lint

sanity: setup
	@scripts/test.sh --only sanity

units: setup
	@scripts/test.sh --only pytest

molecule: setup
	@scripts/test.sh --only molecule

demo: setup
	@scripts/demo.sh up

demo-down:
	@scripts/demo.sh down

build: setup
	ansible-galaxy collection build --force

clean: demo-down
	rm -rf $(VENV) tests/output .pytest_cache context *.tar.gz
