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
# run against (real Dovecot, real CUPS with a PDF queue, Xvfb, poppler,
# Postfix relaying to Dovecot's LMTP for the return channel, PostgreSQL 15).
BUILD_PKGS := gcc pkg-config libgl1-mesa-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev
TEST_PKGS  := xvfb xauth dovecot-imapd dovecot-lmtpd postfix poppler-utils cups printer-driver-cups-pdf imagemagick isync postgresql

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

# Postfix asks how to configure the machine's own mail system; the answer
# "No configuration" leaves it alone (the tests start private instances).
deps-test: deps-build
	@dpkg-query -W -f='$${Status}' postfix 2>/dev/null | grep -q "ok installed" || \
		echo "postfix postfix/main_mailer_type select No configuration" | $(SUDO) debconf-set-selections
	$(call apt_install,$(TEST_PKGS))

build: deps-build
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o amtstresen .

# Without a configuration the app starts as a demo: an in-process IMAP server
# with about 50 signed deliveries, synced into its own demo.db.
run: build
	@if [ -f "$${AMTSTRESEN_CONFIG_DIR:-$${XDG_CONFIG_HOME:-$$HOME/.config}/amtstresen}/config.toml" ]; then \
		./amtstresen; \
	else \
		echo "Keine config.toml gefunden: Amtstresen startet als Demo (eigene Datenbank demo.db)."; ./amtstresen demo; \
	fi

vet: deps-build
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet -tags "$(TESTTAGS)" ./...
	$(GO) vet -tags "screenshots $(TAGS)" ./ui/cli/internal/screenshots

# Every test, including the integration tests against real Dovecot and CUPS
# (they start private instances themselves) and the UI tests (Fyne's test
# driver; Xvfb for the ones that open a real window).
test: deps-test vet
	xvfb-run -a -s "-screen 0 1400x900x24" $(GO) test -tags "$(TESTTAGS)" -count=1 -timeout 30m ./...
	$(GO) build -tags "$(TAGS)" -ldflags "$(LDFLAGS)" -o amtstresen .
	./amtstresen version

clean:
	rm -rf amtstresen amtstresen.exe build dist

# Every screen of the real window (under Xvfb, on a seeded database) and every
# PDF document type, as PNG in build/screenshots for a person to look at.
# Generated; never committed.
screenshots: deps-test
	@rm -rf build/screenshots && mkdir -p build/screenshots/ui build/screenshots/pdf
	xvfb-run -a -s "-screen 0 1400x900x24" $(GO) run -tags "screenshots $(TAGS)" ./ui/cli/internal/screenshots -out build/screenshots/ui
	GO=$(GO) ui/pdf/screenshots.sh build/screenshots/pdf >/dev/null
	@ls build/screenshots/ui build/screenshots/pdf

# Benchmarks behind the figures in the README (section Benchmarks).
BENCH_DB ?= $(or $(TMPDIR),/tmp)/amtstresen-ui-bench-100k.db
.PHONY: bench bench-storage bench-postgres bench-postgres-clerks bench-ui bench-pdf
bench: bench-storage bench-postgres bench-postgres-clerks bench-ui bench-pdf bench-sync bench-sync-postgres bench-rueckkanal bench-rueckkanal-loop

# Work queue on 1,000,000 cases (the database is generated once and cached
# in the temp folder; the first run takes several minutes).
bench-storage: deps-build
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench 'ListFilteredPage|Search|Claim|CreateCaseBatch' -benchtime 200x -timeout 60m ./storage/

# The same cases in PostgreSQL (as root: a private cluster, kept in the temp
# folder; the first run loads them by COPY in about two minutes), as a
# clerk of VG Zell and as an administrator, with p50 and p99.
bench-postgres: deps-test
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench 'ListFilteredPage|Search|Claim' -benchtime 200x -timeout 60m ./storage/postgres/

# 50 clerks at once on the same cases for 60 s, each as their own login
# role with the window's change feed: latency of claim, status, note,
# search and page, errors, and how soon a change is visible at another
# counter (AMTSTRESEN_BENCH_CLERKS, _SECONDS, _THINK_MS change the load);
# before, a change alone at one counter until visible at another.
bench-postgres-clerks: deps-test
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench 'ChangeVisible' -benchtime 400x -timeout 60m ./storage/postgres/
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench 'Clerks' -benchtime 1x -timeout 60m ./storage/postgres/

# The real window on 100,000 cases: time to the first painted queue,
# filter and search as the clerk sees them, memory.
bench-ui: deps-test
	@[ -f "$(BENCH_DB)" ] || $(GO) run -tags "screenshots $(TAGS)" ./ui/cli/internal/screenshots -db "$(BENCH_DB)" -cases 100000 -seed-only
	xvfb-run -a -s "-screen 0 1400x900x24" $(GO) run -tags "screenshots $(TAGS)" ./ui/cli/internal/screenshots -db "$(BENCH_DB)" -bench

bench-pdf: deps-test
	$(GO) test -run '^$$' -bench 'Confirmation$$|Batch100' -benchmem -count 5 ./ui/pdf/

# Portal sync benchmark (as root): a private Dovecot with 10,000 generated
# deliveries, full sync into an empty database, no-op sync, and mbsync
# pulling the same mailbox for comparison.
.PHONY: bench-sync
bench-sync: deps-test
	$(GO) run -tags "$(TAGS)" ./ui/cli/internal/syncbench -n 10000

# The same 10,000 deliveries into a fresh PostgreSQL database (private
# server with durable commits, as the sync's service account; as root).
.PHONY: bench-sync-postgres
bench-sync-postgres: deps-test
	$(GO) run -tags "$(TAGS)" ./ui/cli/internal/syncbench -n 10000 -store postgres

# Return channel (as root): 1,000 status messages through a private Postfix
# into Dovecot, answered by the test portal; messages/s and the time to the
# last quittung.
.PHONY: bench-rueckkanal
bench-rueckkanal: deps-test
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench Postfix1000 -benchtime 1x -count 5 ./sync/rueckkanal/

# The whole return channel on the SQLite store: 1,000 status changes ->
# outbox -> sender -> Postfix -> Dovecot -> test portal -> quittung -> sync
# (messages/s, time from the status change to the quittung applied).
.PHONY: bench-rueckkanal-loop
bench-rueckkanal-loop: deps-test
	$(GO) test -tags "$(TAGS)" -run '^$$' -bench "ReturnChannel1000|ReturnChannelSteady|Sender1000" -benchtime 1x -count 3 ./ui/cli/

# --- Packaging (fyne.io/tools) ---------------------------------------------
FYNE_TOOL_VERSION := v1.7.4
FYNE := $(shell $(GO) env GOPATH 2>/dev/null)/bin/fyne
MINGW_CC := x86_64-w64-mingw32-gcc

.PHONY: package-linux package-check windows deps-windows

$(FYNE):
	$(GO) install fyne.io/tools/cmd/fyne@$(FYNE_TOOL_VERSION)

# Linux: dist/amtstresen-linux-amd64.tar.xz with binary, .desktop file and icon.
package-linux: build $(FYNE)
	@mkdir -p dist
	@cp FyneApp.toml FyneApp.toml.orig   # fyne package bumps Build in FyneApp.toml; keep the checked-in one
	$(FYNE) package -os linux --release --executable amtstresen --name Amtstresen; rc=$$?; mv -f FyneApp.toml.orig FyneApp.toml; exit $$rc
	mv -f Amtstresen.tar.xz dist/amtstresen-linux-amd64.tar.xz
	@ls -l dist/amtstresen-linux-amd64.tar.xz

# Unpacks the Linux package like an admin would and starts the binary headless.
package-check: package-linux
	@set -e; d=$$(mktemp -d); tar -xJf dist/amtstresen-linux-amd64.tar.xz -C $$d; \
	ls $$d/*/usr/local/share/applications/*.desktop >/dev/null || { echo ".desktop-Datei fehlt im Paket"; exit 1; }; \
	ls $$d/*/usr/local/share/pixmaps/*.png >/dev/null || { echo "Icon fehlt im Paket"; exit 1; }; \
	out=$$($$d/*/usr/local/bin/* version); echo "$$out"; \
	echo "$$out" | grep -q "^Amtstresen " || { echo "version-Ausgabe unerwartet"; exit 1; }; rm -rf $$d

deps-windows: deps-build
	$(call apt_install,gcc-mingw-w64-x86-64)

# Windows amd64, cross-compiled with mingw-w64; icon and version information
# are embedded by fyne package. Result: dist/Amtstresen.exe
windows: deps-windows $(FYNE)
	@mkdir -p dist
	@cp FyneApp.toml FyneApp.toml.orig
	CC=$(MINGW_CC) CGO_ENABLED=1 $(FYNE) package -os windows --release --tags "$(TAGS)" --name Amtstresen; rc=$$?; mv -f FyneApp.toml.orig FyneApp.toml; exit $$rc
	mv -f Amtstresen.exe dist/Amtstresen.exe
	@file dist/Amtstresen.exe 2>/dev/null || ls -l dist/Amtstresen.exe
