GO ?= go
BINARIES := $(notdir $(wildcard cmd/*))

.PHONY: build test run clean

build:
	@mkdir -p bin
	$(GO) build -o bin/ ./cmd/...

test:
	scripts/test.sh

run: build
	scripts/run.sh

clean:
	rm -rf bin var
