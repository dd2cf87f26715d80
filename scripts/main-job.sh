#!/bin/sh
# The main job: installs what is missing, builds hyvm and boots the hello
# guest with its serial console on this terminal, on KVM where the host
# has hardware virtualization and on the software CPU elsewhere.
# (Booting Linux to a shell needs the Linux boot protocol and the rest of
# the software CPU's system architecture: later issues.)
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
set +e
build/hyvm -M microvm -m 64 -nographic \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel build/tests/guests/hello.elf
status=$?
set -e
# The hello guest ends through isa-debug-exit; (0 << 1) | 1 is its success.
echo "hyvm exited with status $status"
[ "$status" -eq 1 ] || [ "$status" -eq 0 ]
