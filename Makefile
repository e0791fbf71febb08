# idemgen — the project's commands. `make test` is what CI runs (via .ci/run).
GO      ?= go
PKGS    ?= ./...
# Real-world specs used by the generator and lint tests (see testdata/README.md).
export IDEMGEN_CORPUS ?= $(abspath ../shared/corpus)

.PHONY: all test fmt vet vet-other-os unit corpus-note generate check-generated bench demo fuzz build interop

all: build test

build:
	$(GO) build ./...

## test: gofmt and vet (also for Windows and macOS, so that the runtime and the tests
## keep building there), every test with -race, a check that committed generated code
## is current, and the oapi-codegen interop module.
test: fmt vet vet-other-os unit check-generated interop

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); [ -z "$$out" ] || { echo "not gofmt-formatted:"; echo "$$out"; exit 1; }

vet:
	$(GO) vet $(PKGS)

vet-other-os:
	GOOS=windows $(GO) vet $(PKGS)
	GOOS=darwin $(GO) vet $(PKGS)

unit: corpus-note
	$(GO) test -race -count=1 -timeout 20m $(PKGS)

## corpus-note: one line on the real-world specs the generator tests use, or why
## those tests skip (go test hides a passing package's skip messages without -v).
corpus-note:
	@if [ -d "$(IDEMGEN_CORPUS)" ]; then \
		echo "corpus: $$(find "$(IDEMGEN_CORPUS)" -maxdepth 2 -type f \( -name '*.json' -o -name '*.yaml' -o -name '*.yml' \) | wc -l | tr -d ' ') spec files in $(IDEMGEN_CORPUS)"; \
	else \
		echo "corpus: $(IDEMGEN_CORPUS) not found: the corpus tests skip (set IDEMGEN_CORPUS; see testdata/README.md)"; \
	fi

## generate: regenerate every committed generated file (examples, goldens).
generate:
	$(GO) generate ./...

## check-generated: fail when `go generate ./...` changes a committed file.
check-generated: generate
	@git diff --exit-code --stat -- . || { echo "generated code is stale: run 'make generate' and commit"; exit 1; }

## bench: the runtime and store benchmarks (ns/op, allocs/op).
bench:
	$(GO) test -run='^$$' -bench=. -benchmem -count=1 ./runtime/...

## fuzz: run every fuzz target of the module briefly (FUZZTIME per target). The
## targets are found with grep, so a new one is never left out. Minimising each
## new interesting input is capped (FUZZMINIMIZETIME; Go's default is 60s), or
## the slower targets (FuzzGenerate, FuzzLoad) spend their whole time minimising.
FUZZTIME ?= 20s
FUZZMINIMIZETIME ?= 2s
fuzz:
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' . | grep -v '^./bench/' | sort); do \
		pkg=./$$(dirname $${f#./}); \
		for t in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$pkg $$t"; \
			$(GO) test -run='^$$' -fuzz="^$$t\$$" -fuzztime=$(FUZZTIME) -fuzzminimizetime=$(FUZZMINIMIZETIME) $$pkg; \
		done; \
	done

## demo: build idemgen, regenerate the songs example, run it and drive it with its client.
demo:
	$(GO) run ./examples/songs/demo

.PHONY: bench-compare
BENCH_FLAGS ?=
## bench-compare: idemgen against bare net/http, Fiber's idempotency middleware,
## oapi-codegen (with and without kin-openapi validation), ogen, Spectral and Redocly
## in one run (< 10 min); writes docs/benchmarks.md.
## The bench/ module is separate so that the peers never enter this go.mod.
bench-compare:
	cd bench && $(GO) run ./cmd/benchcompare -repo .. -corpus $(IDEMGEN_CORPUS) -out ../docs/benchmarks.md $(BENCH_FLAGS)

.PHONY: bench-test
## bench-test: vet and test the bench/ module (not part of `make test`: it downloads the peers).
bench-test:
	cd bench && $(GO) vet ./... && $(GO) test -race -count=1 ./...

## interop: oapi-codegen's client (pinned) against idemgen's generated server, in
## their own module (testdata/interop) so oapi-codegen stays out of go.mod. Both
## sides are generated afresh (not committed) from examples/songs/openapi.yaml.
interop:
	cd testdata/interop && GOFLAGS="$(GOFLAGS) -mod=mod" $(GO) generate ./... && $(GO) test -count=1 ./...
