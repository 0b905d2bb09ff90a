# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/zivro
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test build client deps lint test-go test-client test-contract test-browser bench bench-deps bench-reference soak fuzz fuzz-short

## run: build the client, start the server on the embedded store, serve the app on :5000
run: client
	env -u REDIS_URL STATIC_DIR=client/dist $(GO) run .

## test: everything: lint, Go tests (-race, real redis-server), a short run
## of each fuzz target, client unit tests, contract tests (socket.io-client),
## browser tests (chromium)
test: deps lint test-go fuzz-short build client test-client test-contract test-browser

deps:
	@bash .ci/deps

build:
	$(GO) build -o $(BIN) .

client:
	@bash .ci/deps client
	cd client && npm run build

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { gofmt -l $$(git ls-files '*.go'); echo "gofmt: files above need formatting"; exit 1; }
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	cd deploy && $(GO) vet ./... && $(GO) run $(STATICCHECK) ./...
	cd client && npm run lint

test-go: deps
	$(GO) test -race -count=1 -timeout 15m ./...
	cd deploy && $(GO) test -race -count=1 ./...

test-client: deps
	cd client && npm test

test-contract: build deps
	cd e2e && ZIVRO_BIN=$(CURDIR)/$(BIN) npm run test:contract

test-browser: build deps client
	cd e2e && ZIVRO_BIN=$(CURDIR)/$(BIN) npm run test:browser

# The fuzz targets, package:target. go test -fuzz takes one package and one
# target per run. Their seeds (f.Add, testdata/fuzz/<target>/) run in
# test-go as ordinary tests; a crash the fuzzer finds is written to
# testdata/fuzz/<target>/: fix the cause and commit the file.
FUZZ_TARGETS := \
	./handler/socketio:FuzzDecoder ./handler/socketio:FuzzNesting \
	./handler/socketio:FuzzEngineURL ./handler/socketio:FuzzBoundRequests \
	./handler/events:FuzzPayloads ./handler/events:FuzzClean
FUZZTIME ?= 2m

define fuzz-each
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($(1))"; \
		$(GO) test -run='^$$' -fuzz="^$${t#*:}$$" -fuzztime=$(1) $${t%%:*}; \
	done
endef

## fuzz-short: each fuzz target for 10 s (make test)
fuzz-short:
	$(call fuzz-each,10s)

## fuzz: each fuzz target for FUZZTIME (2 min; make bench runs it)
fuzz:
	$(call fuzz-each,$(FUZZTIME))

## bench: load generator against a fresh server (embedded store, then
## Redis), then beside the reference server on socket.io (bench/noderef)
bench: build bench-deps
	$(GO) run ./bench/cmd/zivro-bench -server-bin $(CURDIR)/$(BIN) -out bench/results.json -timeout 45m
	$(MAKE) fuzz

bench-deps:
	@bash .ci/deps bench

## bench-reference: only the reference scenario: ours beside socket.io on
## Node, alternated, and the table of ratios
bench-reference: build bench-deps
	$(GO) run ./bench/cmd/zivro-bench -server-bin $(CURDIR)/$(BIN) -scenarios reference -out bench/results-reference.json -timeout 40m

## soak: 2,000 users at a human pace for SOAK (10m) on Redis; RSS,
## goroutines and Redis memory sampled into docs/soak.csv and docs/soak.png
SOAK ?= 10m
soak: build
	$(GO) run ./bench/cmd/zivro-bench -server-bin $(CURDIR)/$(BIN) -scenarios soak -soak $(SOAK) -soak-csv docs/soak.csv -soak-png docs/soak.png -out bench/results-soak.json
