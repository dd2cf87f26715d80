#!/bin/sh
# The main job: installs what is missing, builds hyvm, builds a small Linux
# guest from Debian's packages (the cloud kernel and busybox, cached in
# build/tests/functional/fixtures) and boots it to an interactive busybox
# shell on this terminal: on KVM where the host has hardware
# virtualization, on the software CPU elsewhere.  Leave the guest with
# `poweroff` (or `exit`), or with Ctrl-A x.  Extra arguments go to hyvm
# (e.g. -M microvm, -smp 2).
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
fixtures=build/tests/functional/fixtures
python3 tests/functional/fixtures.py "$fixtures"
exec build/hyvm -M pc -m 256 -nographic \
    -kernel "$fixtures/vmlinuz" -initrd "$fixtures/initrd.gz" \
    -append "console=ttyS0" "$@"
