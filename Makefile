# kscale — build and test entry points. `make test` is what CI runs (.ci/run).
GO ?= go
PKGS ?= ./...

.PHONY: test vet fmt-check unit cover bench fuzz

## test: formatting check, go vet, and every test (with fuzz seed corpora) under the race detector.
test: fmt-check vet unit

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed on:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet $(PKGS)

unit:
	$(GO) test -race $(PKGS)

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
