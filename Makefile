GO ?= go
BINARIES := $(notdir $(wildcard cmd/*))
# What `<binary> --version` prints: the release (git describe) and the
# commit. Go records the commit itself in a git clone; it cannot in a git
# worktree or with -buildvcs=false, hence the linked copy.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo unknown)
COMMIT ?= $(shell git rev-parse HEAD 2>/dev/null)
VERSION_PKG := github.com/mogilefs-go/mogilefs/internal/version
LDFLAGS := -X $(VERSION_PKG).version=$(VERSION) -X $(VERSION_PKG).commit=$(COMMIT)
# Where `make build` puts the binaries.
BIN ?= bin

# make install: PREFIX and DESTDIR as usual. systemd reads units from
# /usr/local/lib/systemd/system and /usr/lib/systemd/system, not from
# other prefixes: there they go to /etc/systemd/system. mount(8) looks for
# mount helpers in /sbin only.
PREFIX ?= /usr/local
DESTDIR ?=
BINDIR ?= $(PREFIX)/bin
ifneq ($(filter /usr /usr/local,$(PREFIX)),)
UNITDIR ?= $(PREFIX)/lib/systemd/system
else
UNITDIR ?= /etc/systemd/system
endif
CONFDIR ?= /etc/mogilefs
HELPERDIR ?= /sbin
DOCDIR ?= $(PREFIX)/share/doc/mogilefs
# make deb writes the package here.
DEBDIR ?= build
INSTALL_ENV = DESTDIR="$(DESTDIR)" BIN="$(BIN)" BINARIES="$(BINARIES)" BINDIR="$(BINDIR)" \
	UNITDIR="$(UNITDIR)" CONFDIR="$(CONFDIR)" HELPERDIR="$(HELPERDIR)" DOCDIR="$(DOCDIR)"

.PHONY: build test run clean install uninstall deb

# -v names each package as it compiles: the first build on a fresh machine
# compiles every dependency (a few minutes on 2 cores), later ones only
# what changed.
build:
	@mkdir -p $(BIN)
	@echo "building $(BIN)/: $(BINARIES) ($(VERSION)); packages as they compile:"
	$(GO) build -v -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...
	@echo "built $(BIN)/ ($(VERSION))"

test:
	scripts/test.sh

run: build
	scripts/run.sh

# Binaries to $(BINDIR), units to $(UNITDIR), /sbin/mount.fuse.mogfs,
# example configs to $(CONFDIR) (an existing, changed file is kept and the
# example goes next to it as NAME.example). Creates no user and enables
# nothing: see dist/systemd/README.md.
install: build
	@$(INSTALL_ENV) scripts/install.sh install
	@echo "installed into $(DESTDIR)$(PREFIX) (units in $(DESTDIR)$(UNITDIR), configs in $(DESTDIR)$(CONFDIR))"

# Removes what install put there; configuration files that were changed
# stay (it names them).
uninstall:
	@$(INSTALL_ENV) scripts/install.sh uninstall
	@echo "uninstalled from $(DESTDIR)$(PREFIX)"

# A Debian package in $(DEBDIR)/ (dpkg-deb), for this machine's GOARCH.
deb: build
	@BIN="$(BIN)" BINARIES="$(BINARIES)" VERSION="$(VERSION)" DEBDIR="$(DEBDIR)" scripts/deb.sh build

clean:
	rm -rf bin var build
