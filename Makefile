# Conveyor — the two commands a newcomer needs: `make demo` and `make test`.
GO      ?= go
BIN     ?= bin/conveyor
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -X main.version=$(VERSION)
FUZZTIME ?= 20s

.PHONY: build test demo bench fuzz opa-test lint vet fmt

## build: bin/conveyor; the first time, says that modules are downloaded and shows progress
build:
	@if ! GOFLAGS=-mod=mod GOPROXY=off $(GO) list -deps ./cmd/conveyor >/dev/null 2>&1; then \
	  echo "First build: downloading Go modules (once; a few minutes on a slow link)..."; \
	  $(GO) mod download -x 2>&1 | awk '/^# get .*: 200 OK/ && /\.zip/ {n++; printf "\r  %d modules downloaded", n; fflush()} END {print ""}'; \
	fi
	@echo "Building $(BIN) (the first build compiles every dependency: a minute or two)..."
	@$(GO) build -v -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/conveyor 2>&1 | awk '/ |^#/ {print; err=1; next} {n++; printf "\r  %d packages compiled", n; fflush()} END {if (n) print ""; exit err}'

## test: vet, gofmt, then every test. PostgreSQL: $$CONVEYOR_TEST_POSTGRES, else 127.0.0.1:5432 if it
## answers, else a throwaway cluster made for this run (needs PostgreSQL's server programs installed)
test: lint
	$(GO) run ./internal/testpg -- $(GO) test -count=1 -timeout 12m ./...

## demo: the whole journey against the in-repo emulators on the embedded SQLite store
demo: build
	$(BIN) demo

## bench: Go benchmarks, then the webhook load test against a running serve
bench: build
	$(GO) test -run '^$$' -bench . -benchmem ./...
	$(GO) run ./bench/loadgen -binary $(BIN) -db sqlite
	$(GO) run ./bench/loadgen -binary $(BIN) -db postgres
	$(GO) run ./bench/loadgen -binary $(BIN) -db sqlite -mix sync -prs 300
	$(GO) run ./bench/loadgen -binary $(BIN) -db postgres -mix sync -prs 300
	$(GO) run ./bench/loadgen -binary $(BIN) -db sqlite -storm
	$(GO) run ./bench/loadgen -binary $(BIN) -db postgres -storm

## fuzz: each parser's fuzz target for FUZZTIME
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./checks/repoconfig
	$(GO) test -run '^$$' -fuzz '^FuzzParsePointer$$' -fuzztime $(FUZZTIME) ./checks/repoconfig
	$(GO) test -run '^$$' -fuzz '^FuzzParse$$' -fuzztime $(FUZZTIME) ./internal/freezewindow
	$(GO) test -run '^$$' -fuzz '^FuzzParseSQL$$' -fuzztime $(FUZZTIME) ./checks/dbt
	$(GO) test -run '^$$' -fuzz '^FuzzParseSchemaYAML$$' -fuzztime $(FUZZTIME) ./checks/dbt
	$(GO) test -run '^$$' -fuzz '^FuzzParsePython$$' -fuzztime $(FUZZTIME) ./checks/dbt
	$(GO) test -run '^$$' -fuzz '^FuzzParseComment$$' -fuzztime $(FUZZTIME) ./commands
	$(GO) test -run '^$$' -fuzz '^FuzzParseEnvelope$$' -fuzztime $(FUZZTIME) ./bot

## opa-test: the stock opa command line, at the version in go.mod, runs the bundle's Rego tests
opa-test:
	GOBIN=$(CURDIR)/bin GOFLAGS= $(GO) install github.com/open-policy-agent/opa@$$($(GO) list -m -f '{{.Version}}' github.com/open-policy-agent/opa)
	bin/opa test -v policies/bundle

lint: vet
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')
