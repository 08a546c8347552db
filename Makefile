GO ?= go
BINARIES := $(notdir $(wildcard cmd/*))
# What `<binary> --version` prints: the release (git describe) and the
# commit. Go records the commit itself in a git clone; it cannot in a git
# worktree or with -buildvcs=false, hence the linked copy.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
VERSION_PKG := github.com/mogilefs-go/mogilefs/internal/version
LDFLAGS := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT)

.PHONY: build test run clean

# -v names each package as it compiles: the first build on a fresh machine
# compiles every dependency (a few minutes on 2 cores), later ones only
# what changed.
build:
	@mkdir -p bin
	@echo "building bin/: $(BINARIES) ($(VERSION)); packages as they compile:"
	$(GO) build -v -ldflags "$(LDFLAGS)" -o bin/ ./cmd/...
	@echo "built bin/ ($(VERSION))"

test:
	scripts/test.sh

run: build
	scripts/run.sh

clean:
	rm -rf bin var
