#!/bin/sh
# The main job: installs what is missing, builds hyvm and boots the hello
# guest with its serial console on this terminal.
#
# Until the software CPU lands (a later issue) hyvm runs guests on KVM
# only, so this asks for -accel kvm: any /dev/kvm that opens will do.
set -eu
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh build
set +e
build/hyvm -accel kvm -M microvm -m 64 -nographic \
    -device isa-debug-exit,iobase=0xf4,iosize=0x04 \
    -kernel build/tests/guests/hello.elf
status=$?
set -e
# The hello guest ends through isa-debug-exit; (0 << 1) | 1 is its success.
echo "hyvm exited with status $status"
[ "$status" -eq 1 ] || [ "$status" -eq 0 ]
