# Every target calls the tool; the logic lives in src/imagectl.
IMAGE ?= cpu
# the platforms `make image` builds (comma-separated, or `all` that images.yml lists for IMAGE);
# empty: this host's own. `make test` builds and tests all of them.
PLATFORMS ?=
VENV := .venv
TOOL := $(VENV)/bin/imagectl
STAMP := $(VENV)/.bootstrapped

.PHONY: image test unit lint lock engine engine-down bench bench-gpu

$(STAMP): pyproject.toml packages/analysis-utils/pyproject.toml scripts/bootstrap
	scripts/bootstrap
	touch $@

## image: build $(IMAGE) (default cpu) and its parents for PLATFORMS (default: this host's);
## starts an engine if none runs
image: $(STAMP)
	$(TOOL) build $(IMAGE) $(if $(PLATFORMS),--platform $(PLATFORMS))

## test-tools: the npm tools the end-to-end tests run and the Node.js they run on, into
## .cache/node/ (as root, Debian's npm first where no npm runs); stops naming the fix if it can't
.PHONY: test-tools
test-tools: $(STAMP)
	PYTHONPATH=tests $(VENV)/bin/python -m harness.node_tools

## test: every test: unit, the bundled library, $(IMAGE)'s image tests (and its parents') on each
## of its platforms (others than the host's under QEMU, in the background), end to end
test: $(STAMP) test-tools
	$(TOOL) build $(IMAGE) --platform $(or $(PLATFORMS),all)
	scripts/test-all $(IMAGE)

## test-image: only $(IMAGE)'s image tests and its parents' (CI runs it for gpu after `make test`)
.PHONY: test-image
test-image: image
	$(VENV)/bin/pytest --image $(IMAGE) $(if $(PLATFORMS),--platform $(PLATFORMS)) tests/image tests/gpu

## unit: the tests that need no Docker
unit: $(STAMP)
	$(VENV)/bin/pytest tests/unit packages/analysis-utils/tests

## lint: what the CI lint job runs: ruff, hadolint (images, project template), and
## `imagectl ci-lint` on the pipeline and both template files (GitLab's schema on each YAML
## document, the component's spec, and the inputs every include passes)
lint: $(STAMP)
	$(VENV)/bin/ruff check . && $(VENV)/bin/ruff format --check .
	$(VENV)/bin/hadolint --no-color docker/*.Dockerfile templates/project/Dockerfile
	$(TOOL) ci-lint .gitlab-ci.yml templates/.build-dockerfile.yml templates/build-dockerfile.yml

## lock: re-resolve docker/requirements/*.lock from the *.in requirements
lock: $(STAMP)
	$(TOOL) lock

## update: re-resolve every lock and the base pin; if anything moved, commit it on update/<date>,
## build and test the images that changed (this host's platform only), write build/update/report.md
.PHONY: update bench-update
update: $(STAMP)
	$(TOOL) update

## bench-update: wall time of `make update` with nothing to update and with one small package
## changed, in a throwaway clone (keeps the build cache)
bench-update: $(STAMP)
	$(VENV)/bin/python scripts/bench_update.py

## lock-base: pin the base image (images.yml, .gitlab-ci.yml) to its tag's digest now
.PHONY: lock-base
lock-base: $(STAMP)
	$(TOOL) lock-base

engine: $(STAMP)
	$(TOOL) engine up

engine-down: $(STAMP)
	$(TOOL) engine down

## bench: cold build, rebuild, size and test time of $(IMAGE) (empties the build cache)
bench: image
	$(VENV)/bin/python scripts/bench.py

## bench-gpu: gpu size, the bytes it adds to cpu, gpu layer build time (keeps the build cache)
bench-gpu: $(STAMP)
	$(TOOL) build gpu
	$(VENV)/bin/python scripts/bench_gpu.py

## verify-rebuild: rebuild $(IMAGE) from an empty build cache and compare (packages, layers)
.PHONY: verify-rebuild
verify-rebuild: image
	$(VENV)/bin/python scripts/verify_rebuild.py --image $(IMAGE)

## bench-start: seconds from `docker run` to healthy for each start mode of the README, 5 runs each
.PHONY: bench-start
bench-start: image
	$(VENV)/bin/python scripts/bench_start.py

## bench-workplace: through the browser: `docker run` to healthy (and its ratio to a bare run),
## to the launcher drawn, new notebook to kernel idle, the usual imports in a cell (5 runs each)
.PHONY: bench-workplace
bench-workplace: image
	$(VENV)/bin/python scripts/bench_workplace.py

## bench-hub: seconds from a JupyterHub spawn request to the server answering (DockerSpawner, 5 runs)
.PHONY: bench-hub
bench-hub: image
	$(VENV)/bin/python scripts/bench_hub.py

## bench-pipeline: one default-branch pipeline under gitlab-ci-local, cold and warm
.PHONY: bench-pipeline
bench-pipeline: image
	$(VENV)/bin/python scripts/bench_pipeline.py

## registry / registry-down: start / stop the local registry (127.0.0.1:5000, .cache/registry/)
.PHONY: registry registry-down push promote release
registry: $(STAMP)
	$(TOOL) registry up

registry-down: $(STAMP)
	$(TOOL) registry down

## push: push $(IMAGE)'s <sha> tag; refused if the registry holds another image under it
push: $(STAMP)
	$(TOOL) push $(IMAGE)

## promote: point latest at $(IMAGE)'s pushed <sha>, only if that image's tests passed
promote: $(STAMP)
	$(TOOL) promote $(IMAGE)

## release: build, test, push, promote $(IMAGE)
release: test
	$(TOOL) push $(IMAGE)
	$(TOOL) promote $(IMAGE)
