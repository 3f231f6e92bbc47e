# sipfront — build and test entry points. `make test` is what CI runs (.ci/run).
GO       ?= go
FUZZTIME ?= 30s
PKGS     := ./...
BIN      := bin

.PHONY: all build test race fuzz bench generate check-generated lint demo deps clean

all: build

build:
	$(GO) build -o $(BIN)/ ./cmd/...

# The test suite: vet plus every package's tests (loopback end-to-end, SIPp and
# Kamailio peers when installed, root-only XDP/netns tests when run as root).
# Bounded well under 10 minutes on a 2-core machine.
test:
	$(GO) vet $(PKGS)
	$(GO) test -shuffle=on -timeout 9m $(PKGS)

race:
	$(GO) test -race -timeout 15m $(PKGS)

# Every native fuzz target, each for FUZZTIME (make fuzz FUZZTIME=10m).
fuzz:
	@set -e; for pkgdir in $$($(GO) list -f '{{.Dir}}' $(PKGS)); do \
	  for target in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$pkgdir/*_test.go 2>/dev/null | sed 's/^func //'); do \
	    echo "== $$target in $$pkgdir ($(FUZZTIME))"; \
	    (cd $$pkgdir && $(GO) test -run '^$$' -fuzz "^$$target$$" -fuzztime $(FUZZTIME) .); \
	  done; \
	done

# Micro-benchmarks next to the code; the system harness lives in bench/.
bench:
	$(GO) test -run '^$$' -bench . -benchmem $(PKGS)
	@if [ -x bench/run ]; then bench/run; fi
	bench/reload-soak.sh

generate:
	$(GO) generate ./...

check-generated: generate
	git diff --exit-code

lint:
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet $(PKGS)

demo: build
	$(BIN)/sipfront demo

# What the tests and benchmarks need from Debian (SIPp, Kamailio, clang for
# `make generate`, iproute2 for the netns tests). Run as root.
deps:
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq sip-tester kamailio clang llvm libbpf-dev iproute2

clean:
	rm -rf $(BIN)
	$(GO) clean -testcache
