#!/bin/sh
# Renders every document type (receipt, dog tax, pickups, appointment,
# cancellation, a multi-page letter, a batch) to PDF and PNG so a person can
# look at them. Needs pdftoppm (poppler-utils). Usage:
#
#   ui/pdf/screenshots.sh [FOLDER]     default: build/screenshots
#
# The output is generated; do not commit it.
set -eu
cd "$(dirname "$0")/../.."
out="${1:-build/screenshots}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
AMTSTRESEN_SCREENSHOTS="$out" ${GO:-go} test -count=1 -run '^TestScreenshots$' ./ui/pdf/
ls "$out"/*.png
