# Amtstresen — build, run and test.
#
#   make run    install what is missing, then start the app on a local SQLite file
#   make test   install what is missing (build tools, Dovecot, CUPS, Xvfb, …) and run every test
#
# Build tags live here, not in people's heads.

GO        ?= go
TAGS      ?= sqlite_fts5
TESTTAGS  ?= sqlite_fts5 ci
GITREV    := $(shell git rev-parse --short HEAD 2>/dev/null)
LDFLAGS   := -X main.revision=$(GITREV)
SUDO      := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
export CGO_ENABLED = 1

# Debian/Ubuntu packages: what Fyne and cgo need to build, and what the tests
# run against (real Dovecot, real CUPS with a PDF queue, Xvfb, poppler).
BUILD_PKGS := gcc pkg-config libgl1-mesa-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
TEST_PKGS  := xvfb xauth dovecot-imapd poppler-utils cups printer-driver-cups-pdf imagemagick isync

.PHONY: run test build deps-build deps-test vet check-go screenshots clean

check-go:
	@command -v $(GO) >/dev/null || { echo "Go 1.26 oder neuer fehlt: https://go.dev/doc/install (Go liegt auf den Arbeitsplätzen unter /usr/local/go)"; exit 1; }
	@$(GO) version

# Installs only what is missing; apt-get runs only then.
define apt_install
	@missing=""; for p in $(1); do dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "Installiere:$$missing"; \
		$(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
endef

deps-build: check-go
	$(call apt_install,$(BUILD_PKGS))

deps-test: deps-build
	$(call apt_install,$(TEST_PKGS))

build: deps-build
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o amtstresen .

run: build
	./amtstresen

vet: deps-build
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -tags "$(TESTTAGS)" ./...

# Every test, including the integration tests against real Dovecot and CUPS
# (they start private instances themselves) and the UI tests (Fyne's test
# driver; Xvfb for the ones that open a real window).
test: deps-test vet
	xvfb-run -a -s "-screen 0 1400x900x24" $(GO) test -tags "$(TESTTAGS)" -count=1 -timeout 30m ./...
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o amtstresen .
	./amtstresen version

clean:
	rm -rf amtstresen amtstresen.exe build dist
