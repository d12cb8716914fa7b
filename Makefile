# jobserver — see README.md. `make help` lists the targets.
SHELL := /usr/bin/env bash -o errexit -o nounset -o pipefail
.DEFAULT_GOAL := help

OUTPUT_DIR := _output
BIN_DIR    := $(OUTPUT_DIR)/bin
GO_PACKAGES := ./cmd/... ./pkg/... ./hack/models-schema/... ./hack/kit/... ./hack/image/... ./test/kit/...
# Tests get this long in total; CI's limit is 90 minutes.
TEST_TIMEOUT ?= 30m
# The version release-plugin names the plugin's archives and manifest with.
VERSION ?= v0.0.0-dev

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  %-18s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build jobserver and the kubectl plugin kubectl-jobserver into _output/bin.
	go build -trimpath -o $(BIN_DIR)/jobserver ./cmd/jobserver
	go build -trimpath -o $(BIN_DIR)/kubectl-jobserver ./cmd/kubectl-jobserver

.PHONY: release-plugin
release-plugin: ## The plugin's release archives and krew manifest in _output/release/$(VERSION) (VERSION=v1.2.3).
	hack/krew-release.sh $(VERSION)

# make image: the image's architecture and directory; its version is VERSION
# when given (make image VERSION=v1.2.3), else git describe; every timestamp
# in it is the last commit's time (0 outside git).
IMAGE_ARCH ?= amd64
IMAGE_DIR  := $(OUTPUT_DIR)/image
IMAGE_VERSION = $(if $(filter file,$(origin VERSION)),$(shell git describe --tags --always --dirty 2>/dev/null || echo $(VERSION)),$(VERSION))
IMAGE_EPOCH = $(shell git log -1 --format=%ct 2>/dev/null || echo 0)
IMAGE_REVISION = $(shell git rev-parse HEAD 2>/dev/null)

.PHONY: image
image: ## OCI image of jobserver without a container runtime, same digest for the same inputs: _output/image/oci and jobserver.tar (docker load).
	rm -rf $(IMAGE_DIR)/oci $(IMAGE_DIR)/jobserver.tar
	CGO_ENABLED=0 GOOS=linux GOARCH=$(IMAGE_ARCH) go build -trimpath -ldflags "-buildid= -s -w" -o $(IMAGE_DIR)/jobserver ./cmd/jobserver
	go run ./hack/image --binary $(IMAGE_DIR)/jobserver --arch $(IMAGE_ARCH) --version "$(IMAGE_VERSION)" \
	  --revision "$(IMAGE_REVISION)" --source-date-epoch "$(IMAGE_EPOCH)" \
	  --oci-layout $(IMAGE_DIR)/oci --tarball $(IMAGE_DIR)/jobserver.tar

.PHONY: test-image
test-image: ## make image twice from a clean output directory: the same digest both times (hack/image's go test runs the image's entrypoint).
	rm -rf $(IMAGE_DIR)
	@first=$$($(MAKE) --no-print-directory -s image | tail -1); rm -rf $(IMAGE_DIR); \
	second=$$($(MAKE) --no-print-directory -s image | tail -1); \
	echo "make image: $$first, then $$second"; \
	case "$$first" in sha256:*) ;; *) echo "make image printed no digest" >&2; exit 1 ;; esac; \
	[ "$$first" = "$$second" ] || { echo "make image is not reproducible" >&2; exit 1; }

.PHONY: codegen
codegen: ## Regenerate clients, deepcopy, conversion, defaults, OpenAPI (hack/update-codegen.sh).
	hack/update-codegen.sh

.PHONY: verify
verify: ## Check formatting, vet, that generated code is up to date, and that krew installs the plugin.
	@bad=$$(gofmt -l cmd pkg hack test 2>/dev/null | grep -v -e '^pkg/generated/' -e 'zz_generated' || true); \
	  if [[ -n "$$bad" ]]; then echo "gofmt needed on:"; echo "$$bad"; exit 1; fi
	go vet $(GO_PACKAGES) ./test/...
	hack/verify-codegen.sh
	hack/krew-release.sh --verify

.PHONY: test-unit
test-unit: ## Unit tests (in-process; at most an embedded etcd on a unix socket; hack/image builds and runs the image).
	go test -count=1 $(GO_PACKAGES)

# Native Go fuzz targets, package:Target:budget. `go test` runs their seed
# corpus (and testdata/fuzz regressions) in test-unit; test-fuzz fuzzes each
# for its budget, a count of executions (Nx) sized to a few seconds here.
# Counts, not durations: with a duration, Go 1.26's fuzz coordinator can
# fail a clean run with a bare "context deadline exceeded" when the time is
# up (go.dev/issue/75804, fixed in Go 1.27); a count has no deadline to race.
# FUZZTIME overrides every budget: make test-fuzz FUZZTIME=10m for a long run
# (a duration, so it may end in that spurious error: only a written
# testdata/fuzz input is a finding).
FUZZ_TARGETS := ./pkg/registry/batch/job:FuzzCreate:3000x ./pkg/registry/batch/job:FuzzUpdate:3000x \
  ./pkg/controller/job:FuzzParseIndexes:20000x ./pkg/apis/batch/validation:FuzzValidateIndexes:20000x
FUZZTIME ?=

.PHONY: test-fuzz
test-fuzz: ## Fuzz each target for its budget (a few seconds' executions; a longer run: make test-fuzz FUZZTIME=10m).
	@for t in $(FUZZ_TARGETS); do \
	  pkg=$${t%%:*}; rest=$${t#*:}; name=$${rest%%:*}; budget=$${rest#*:}; \
	  if [ -n "$(FUZZTIME)" ]; then budget="$(FUZZTIME)"; fi; \
	  echo "go test -run '^$$' -fuzz '^$$name$$' -fuzztime $$budget -fuzzminimizetime 2s $$pkg"; \
	  go test -run '^$$' -fuzz "^$$name$$" -fuzztime "$$budget" -fuzzminimizetime 2s "$$pkg" || exit 1; \
	done

.PHONY: test-integration
test-integration: ## Integration tests: real etcd (+ kube-apiserver for the controller) and jobserver in-process, on loopback.
	hack/build-tools.sh etcd kube-apiserver
	go test -count=1 -timeout $(TEST_TIMEOUT) ./test/integration/...

.PHONY: test-e2e
test-e2e: ## End-to-end tests: a local cluster (own ports, _output/e2e) through kube-apiserver with kubectl v1.37.2.
	hack/build-tools.sh
	go test -count=1 -timeout $(TEST_TIMEOUT) ./test/e2e/...

.PHONY: test
test: verify test-unit test-fuzz test-image test-integration test-e2e ## Everything CI runs: verify, unit, fuzz (short), image reproducibility, integration and e2e tests.

.PHONY: bench
bench: ## Benchmarks (print figures; no timed assertions).
	go test -run '^$$' -bench . -benchmem ./pkg/... ./test/integration/...

.PHONY: run
run: ## Bring up a local cluster with jobserver aggregated into it (hack/local-up.sh).
	hack/local-up.sh

.PHONY: down
down: ## Stop exactly the processes `make run` started.
	hack/local-down.sh

.PHONY: tools
tools: ## Build the pinned kube-apiserver, controller-manager, scheduler, kubectl, etcd, kwok into _output/bin.
	hack/build-tools.sh

.PHONY: clean
clean: ## Remove build outputs (keeps nothing under _output).
	rm -rf $(OUTPUT_DIR)
