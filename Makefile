# kscale — build and test entry points. `make test` is what CI runs (.ci/run).
GO ?= go
PKGS ?= ./...

.PHONY: test vet fmt-check unit short cover bench fuzz chromium testcluster upstream-diff

# The end-to-end tests start a real control plane (internal/testcluster); a package's whole run
# can take several minutes, beyond go test's default 10m timeout on a busy 2-core machine.
TEST_TIMEOUT ?= 30m

## test: formatting check, go vet, the control plane's binaries, then every test (with fuzz seed
## corpora) under the race detector, and the differential test against the real Kubernetes HPA
## controller (upstream-diff). The binaries are built before go test starts, so a cold build
## (see README, Tests) never counts against the test timeout.
test: fmt-check vet testcluster unit upstream-diff

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit: chromium
	KSCALE_REQUIRE_CHROMIUM=$$(command -v chromium >/dev/null 2>&1 && echo 1) $(GO) test -race -timeout $(TEST_TIMEOUT) $(PKGS)

## short: the quick loop: every test except those needing the control plane.
short:
	$(GO) test -short $(PKGS)

## chromium: Debian's headless browser, which the simulate/cluster HTML report test drives; installed when missing and root.
chromium:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
	    export DEBIAN_FRONTEND=noninteractive; \
	    apt-get install -y chromium || { apt-get update && apt-get install -y chromium; }; \
	  else echo "chromium is missing and cannot be installed here: the HTML report test will be skipped"; fi; }

## testcluster: build (or find in the cache) the binaries of internal/testcluster's control plane:
## kube-apiserver, kube-scheduler, kube-controller-manager, etcd, kwok, metrics-server.
## The cache is $$KSCALE_TESTCLUSTER_DIR, else $$XDG_CACHE_HOME/kscale/testcluster, else ~/.cache/kscale/testcluster.
testcluster:
	$(GO) run ./internal/testcluster/cmd/build

## upstream-diff: the differential test of hpa against the real Kubernetes v1.37.2 HPA controller, in the
## nested module internal/upstream. It compiles k8s.io/kubernetes' controller packages under the race
## detector: ~6.5 min cold on the shared 2-core machine, ~12 s warm (README, Tests).
upstream-diff:
	cd internal/upstream && $(GO) vet ./... && $(GO) test -race ./...

## cover: per-package statement coverage.
cover:
	$(GO) test -cover $(PKGS)

## bench: the benchmarks, with allocation counts; compare runs with benchstat.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)

## fuzz: run one fuzz target for a while, e.g. make fuzz FUZZ=FuzzEvaluate PKG=./hpa FUZZTIME=1m
FUZZ ?= FuzzEvaluate
PKG ?= ./hpa
FUZZTIME ?= 30s
fuzz:
	$(GO) test -run '^$$' -fuzz '^$(FUZZ)$$' -fuzztime $(FUZZTIME) $(PKG)
