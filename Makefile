# spotcast: make run (the service on the embedded store), make test (all tests).
GO        ?= go
BIN       ?= bin/spotcast
DB        ?= spotcast.duckdb
STATICCHECK_VERSION ?= v0.8.2
# The shared data set (real spot-market data) sits beside the checkout.
SHARED    ?= ../shared

.PHONY: build run demo test tidy test-short bench lint fmt vet staticcheck clean

build:
	$(GO) build -o $(BIN) ./cmd/spotcast

# With AWS credentials: ingests the real market into $(DB), then serves it
# (HTTP API and /metrics on 127.0.0.1:8080, scheduled ingest). Without them:
# reads the public AWS spot price feed (real region-level prices, no
# credentials needed); only when the feed cannot be reached (no network)
# fills $(DB) from the simulated market (every row and answer
# source=simulated). Either way it says which on stderr, then serves.
# AWS_FEED_URL overrides the feed's address.
AWS_FEED_URL ?=
run: build
	$(BIN) ingest aws --db $(DB) --simulate-without-credentials $(if $(AWS_FEED_URL),--feed-url $(AWS_FEED_URL))
	$(BIN) serve --db $(DB)

# The simulated market only, whatever credentials exist.
demo: build
	$(BIN) ingest sim --db $(DB)
	$(BIN) stats --db $(DB)

test: tidy
	$(GO) vet ./...
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	$(GO) test -count=1 -timeout 30m ./...

# go.mod lists every direct requirement as direct and nothing unused.
tidy:
	@$(GO) mod tidy -diff || { echo "go.mod is not tidy: run go mod tidy"; exit 1; }

test-short:
	$(GO) test -short ./...

bench:
	$(GO) test -run '^$$' -bench . -benchmem -count 6 ./... | tee bench.txt

lint: fmt vet staticcheck

fmt:
	@unformatted=$$(gofmt -l .); if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi

vet:
	$(GO) vet ./...

staticcheck:
	$(GO) run honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION) ./...

clean:
	rm -rf bin $(DB) $(DB).wal
