#!/bin/sh
# Configures (once) and builds hyvm in BUILDDIR (default: build).
#   scripts/build.sh [BUILDDIR [meson options...]]
set -eu
cd "$(dirname "$0")/.."
dir=${1:-build}
[ $# -gt 0 ] && shift
if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@"
fi
ninja -C "$dir"
