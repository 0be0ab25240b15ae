# Every target calls the tool; the logic lives in src/imagectl.
IMAGE ?= cpu
VENV := .venv
TOOL := $(VENV)/bin/imagectl
STAMP := $(VENV)/.bootstrapped

.PHONY: image test unit lint lock engine engine-down bench

$(STAMP): pyproject.toml packages/analysis-utils/pyproject.toml scripts/bootstrap
	scripts/bootstrap
	touch $@

## image: build $(IMAGE) (default cpu) and its parents; starts an engine if none runs
image: $(STAMP)
	$(TOOL) build $(IMAGE)

## test: unit tests, then $(IMAGE)'s image tests (and its parents') against a fresh build
test: image
	$(VENV)/bin/pytest --image $(IMAGE)

## unit: the tests that need no Docker
unit: $(STAMP)
	$(VENV)/bin/pytest tests/unit packages/analysis-utils/tests

lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .

## lock: re-resolve docker/requirements/*.lock from the *.in wishes
lock: $(STAMP)
	$(TOOL) lock

engine: $(STAMP)
	$(TOOL) engine up

engine-down: $(STAMP)
	$(TOOL) engine down

## bench: cold build, rebuild, size and test time of $(IMAGE) (empties the build cache)
bench: image
	$(VENV)/bin/python scripts/bench.py --image $(IMAGE)
