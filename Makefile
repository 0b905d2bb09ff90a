# The two commands a newcomer needs: `make run` and `make test`.
SHELL := /bin/bash
GO    ?= go
BIN   := bin/zivro
STATICCHECK := honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: run test build client deps lint test-go test-client test-contract test-browser bench bench-deps bench-reference bench-floor soak fuzz fuzz-short

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

# The fuzz targets, package:target:executions. go test -fuzz takes one
# package and one target per run. Their seeds (f.Add, testdata/fuzz/<target>/)
# run in test-go as ordinary tests; a crash the fuzzer finds is written to
# testdata/fuzz/<target>/: fix the cause and commit the file.
# The budgets are counts of executions (about 10 s of each target on a
# 2-core machine), not durations: with -fuzztime=<duration>, Go 1.26's fuzz
# coordinator can report its own deadline as a failure ("context deadline
# exceeded", no crasher: go.dev/issue/75804, fixed in Go 1.27); a count has
# no deadline, so a loaded machine only makes the run longer.
FUZZ_TARGETS := \
	./handler/socketio:FuzzDecoder:80000 ./handler/socketio:FuzzNesting:60000 \
	./handler/socketio:FuzzEngineURL:80000 ./handler/socketio:FuzzBoundRequests:80000 \
	./handler/events:FuzzPayloads:80000 ./handler/events:FuzzClean:80000
# make fuzz runs each target FUZZ_ROUNDS times its budget (12: about 2 min).
FUZZ_ROUNDS ?= 12

define fuzz-each
	@set -e; for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; rest=$${t#*:}; target=$${rest%%:*}; execs=$$(( $${rest#*:} * $(1) )); \
		echo "fuzz $$target ($$execs executions)"; \
		$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$${execs}x $$pkg; \
	done
endef

## fuzz-short: each fuzz target for its budget, about 10 s (make test)
fuzz-short:
	$(call fuzz-each,1)

## fuzz: each fuzz target for FUZZ_ROUNDS budgets, about 2 min (make bench
## runs it)
fuzz:
	$(call fuzz-each,$(FUZZ_ROUNDS))

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

## bench-floor: the reference scenario with the least Go relay
## (bench/floorref) in ours' place: the floor a Go server starts from
bench-floor: bench-deps
	$(GO) build -o bin/floorref ./bench/floorref
	$(GO) run ./bench/cmd/zivro-bench -server-bin $(CURDIR)/bin/floorref -stores memory -scenarios reference -ref-polling-n 0 -out bench/results-floor.json -timeout 40m

## soak: 2,000 users at a human pace for SOAK (10m) on Redis; RSS,
## goroutines and Redis memory sampled into docs/soak.csv and docs/soak.png
SOAK ?= 10m
soak: build
	$(GO) run ./bench/cmd/zivro-bench -server-bin $(CURDIR)/$(BIN) -scenarios soak -soak $(SOAK) -soak-csv docs/soak.csv -soak-png docs/soak.png -out bench/results-soak.json
