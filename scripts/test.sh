#!/bin/sh
# Installs what is missing, builds hyvm, runs every test, then builds once
# more with AddressSanitizer and UBSan and runs the unit tests, the image
# tests and the fuzz targets there.
# Logs: build/meson-logs/testlog.json and build-asan/meson-logs/testlog.json.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh --test
status=0
scripts/build.sh build
meson test -C build --print-errorlogs || status=1
scripts/build.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false
ASAN_OPTIONS=detect_leaks=0 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
    meson test -C build-asan --suite unit --suite fuzz --suite img --print-errorlogs || status=1
exit $status
