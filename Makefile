# orbitstream: `make help` lists the targets.
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-stamp
KAFKA_LIBS := infra/kafka/libs
KAFKA_STAMP := $(KAFKA_LIBS)/.fetched
AVRO_JAVA_LIBS := tests/interop/java/libs
AVRO_JAVA_STAMP := $(AVRO_JAVA_LIBS)/.fetched
REPORT_OUT ?= var/report.html

.DEFAULT_GOAL := help
.PHONY: help setup demo test test-unit test-integration test-faults lint format typecheck check schemas-check bench faults report clean

help: ## List the targets
	@grep -hE '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  %-18s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -U pip
	$(PY) -m pip install -q --disable-pip-version-check -c constraints.txt -e '.[dev]'
	touch $@

$(KAFKA_STAMP): infra/kafka/pom.xml
	@if [ -n "$$KAFKA_HOME" ]; then echo "KAFKA_HOME=$$KAFKA_HOME: using that install"; mkdir -p $(KAFKA_LIBS); else \
	  mvn -q -B -f infra/kafka/pom.xml dependency:copy-dependencies -DoutputDirectory=libs -DincludeScope=runtime; fi
	touch $@

# Apache Avro's Java implementation: the interoperability tests encode and decode with it.
$(AVRO_JAVA_STAMP): tests/interop/java/pom.xml
	mvn -q -B -f tests/interop/java/pom.xml dependency:copy-dependencies -DoutputDirectory=libs -DincludeScope=runtime
	touch $@

setup: $(STAMP) $(KAFKA_STAMP) $(AVRO_JAVA_STAMP) ## Create the venv, install packages, fetch the Kafka broker and Avro Java jars

demo: setup ## Run producers -> stream workers -> sink end to end on the embedded stack
	$(VENV)/bin/orbitstream demo

test: setup ## Run every test, the fault verifier's short runs included (starts a real Kafka broker and the embedded warehouse)
	$(PY) -m pytest

test-unit: setup ## Only the tests that need no broker or warehouse
	$(PY) -m pytest -m "not integration"

test-integration: setup ## Only the integration tests
	$(PY) -m pytest -m integration

test-faults: setup ## Only the fault verifier's short runs (part of make test)
	$(PY) -m pytest -m faults

lint: $(STAMP) ## ruff lint and format check, then the layering contracts (import-linter)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports

format: $(STAMP) ## Apply ruff's formatting and fixes
	$(VENV)/bin/ruff format .
	$(VENV)/bin/ruff check --fix .

typecheck: $(STAMP) ## mypy over the packages
	$(VENV)/bin/mypy foundation schemas producers streams sinks analytics infra bench orbitstream

check: lint typecheck test ## What CI runs: lint, types, then every test

schemas-check: $(STAMP) ## Check every schema against its released versions (BACKWARD_TRANSITIVE)
	$(VENV)/bin/orbitstream schemas check

bench: setup ## Run the benchmarks in bench/ and record their figures (several minutes)
	$(VENV)/bin/orbitstream bench producer-throughput
	$(VENV)/bin/orbitstream bench stream-latency
	$(VENV)/bin/orbitstream bench sink-throughput
	$(VENV)/bin/orbitstream bench metrics-overhead

faults: setup ## Fault verifier, the long run: a 25k-event workload clean twice and under faults (FAULTS_ARGS=...)
	$(VENV)/bin/orbitstream bench faults $(FAULTS_ARGS)

report: $(STAMP) ## Write every analysis with charts to one HTML file (REPORT_OUT=var/report.html, REPORT_ARGS=...)
	$(VENV)/bin/orbitstream report --out $(REPORT_OUT) $(REPORT_ARGS)

clean: ## Remove the venv, fetched jars and local data
	rm -rf $(VENV) $(KAFKA_LIBS) $(AVRO_JAVA_LIBS) infra/kafka/target var .pytest_cache .mypy_cache .ruff_cache
