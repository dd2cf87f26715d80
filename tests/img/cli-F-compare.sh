#!/bin/bash
# hyvm-img's convert, compare, commit, rebase, bench and dd against qemu-img:
# each case runs the same qemu-img command line in two scratch directories
# holding the same files, once with Debian's qemu-img and once with
# hyvm-img (through a link named qemu-img, so messages carry the same
# program name), and compares stdout, stderr and the exit code byte for
# byte ("Run completed in" times masked).  After the commands that write,
# the images in both directories must read the same (qemu-img compare) and
# hyvm-img's qcow2 files must pass qemu-img check.  TAP on stdout.
#
# usage: cli-F-compare.sh [path/to/hyvm-img]   (or HYVM_IMG=...)
# Needs qemu-img and qemu-io (qemu-utils); skips everything without them.
set -u

HYVM_IMG=${1:-${HYVM_IMG:-}}
if [ -z "$HYVM_IMG" ] || [ ! -x "$HYVM_IMG" ]; then
    echo "1..0 # SKIP no hyvm-img given"
    exit 0
fi
HYVM_IMG=$(realpath "$HYVM_IMG")
if ! command -v qemu-img >/dev/null || ! command -v qemu-io >/dev/null; then
    echo "1..0 # SKIP qemu-img or qemu-io not installed"
    exit 0
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin" "$TMP/Q" "$TMP/H"
ln -s "$HYVM_IMG" "$TMP/bin/qemu-img"
n=0
fails=0

result() {
    n=$((n + 1))
    if [ "$1" = ok ]; then
        echo "ok $n - $2"
    else
        echo "not ok $n - $2"
        fails=$((fails + 1))
    fi
}

run() {
    local dir=$1 prog=$2
    shift 2
    (cd "$TMP/$dir" && "$prog" "$@" >"$TMP/$dir.stdout" 2>"$TMP/$dir.stderr"; \
     echo "rc=$?" >"$TMP/$dir.rc")
    sed -i 's/Run completed in [0-9.]* seconds/Run completed in T seconds/' "$TMP/$dir.stdout"
}

# same args...: one command line, output and exit code byte for byte.
same() {
    run Q qemu-img "$@"
    run H "$TMP/bin/qemu-img" "$@"
    if cmp -s "$TMP/Q.stdout" "$TMP/H.stdout" && cmp -s "$TMP/Q.stderr" "$TMP/H.stderr" &&
       cmp -s "$TMP/Q.rc" "$TMP/H.rc"; then
        result ok "qemu-img $*"
    else
        result fail "qemu-img $*"
        for f in stdout stderr rc; do
            diff "$TMP/Q.$f" "$TMP/H.$f" | head -20 | sed "s/^/# $f: /"
        done
    fi
}

# content FILE [FMT]: FILE reads the same in both directories; a qcow2 that
# hyvm-img wrote passes qemu-img check.
content() {
    local f=$1
    if qemu-img compare -q -U "$TMP/Q/$f" "$TMP/H/$f" 2>/dev/null; then
        result ok "content of $f"
    else
        result fail "content of $f"
    fi
    if [ "$(qemu-img info -U "$TMP/H/$f" 2>/dev/null | sed -n 's/^file format: //p')" = qcow2 ]
    then
        if qemu-img check -q "$TMP/H/$f" >/dev/null 2>&1; then
            result ok "qemu-img check $f"
        else
            result fail "qemu-img check $f"
        fi
    fi
}

# Both directories get the same file from a shell command run in each.
prep() {
    (cd "$TMP/Q" && eval "$1" >/dev/null 2>&1) && (cd "$TMP/H" && eval "$1" >/dev/null 2>&1)
}

# A raw source with data, compressible text, allocated zeroes and holes.
head -c 300000 /dev/urandom >"$TMP/rand"
for d in Q H; do
    truncate -s 16M "$TMP/$d/src.raw"
    for off in 0 3 7 12; do
        dd if="$TMP/rand" of="$TMP/$d/src.raw" bs=1M seek=$off conv=notrunc 2>/dev/null
    done
    yes hyvm | head -c 1M | dd of="$TMP/$d/src.raw" bs=1M seek=5 conv=notrunc 2>/dev/null
    dd if=/dev/zero of="$TMP/$d/src.raw" bs=1M seek=9 count=1 conv=notrunc 2>/dev/null
    printf end | dd of="$TMP/$d/src.raw" bs=1 seek=16777213 conv=notrunc 2>/dev/null
done
prep "qemu-img convert -f raw -O qcow2 src.raw src.qcow2"

# --- convert ---
same convert
same convert src.raw
same convert -O foo src.raw x
same convert -c src.raw x.raw
same convert -S 1000 src.raw x
same convert -S abc src.raw x
same convert -m 0 src.raw x
same convert -m 17 src.raw x
same convert -n -o cluster_size=4k src.raw x
same convert -B src.raw src.raw x.raw
same convert -O qcow2 -B src.raw src.raw x.qcow2
same convert -O qcow2 -B src.raw -F raw src.raw src.raw x.qcow2
same convert -t foo src.raw x
same convert -T foo src.raw x
same convert -r abc src.raw x
same convert -z src.raw x
same convert --target-is-zero src.raw x
same convert -C -c -O qcow2 src.raw x
same convert -C -S 4k src.raw x
same convert -o help
same convert -O qcow2 -o help
same convert --bitmaps src.raw x
same convert --skip-broken-bitmaps src.raw x
same convert -O qcow2 -o preallocation=full -c src.raw x
same convert -O qcow2 -o backing_file=src.raw src.raw x
same convert -O qcow2 -o cluster_size=3 src.raw x
same convert -f qcow2 src.raw x
same convert -n src.raw nonexist
same convert -l foo src.raw x
same convert -l snapshot.foo=1 -f qcow2 src.qcow2 x
same convert -l snapshot.id=1 -f qcow2 src.qcow2 x
prep "qemu-img create -f raw tiny.raw 1M"
same convert -n src.raw tiny.raw
same convert -f raw -O raw src.raw c1.raw
content c1.raw
same convert -f raw -O qcow2 src.raw c2.qcow2
content c2.qcow2
same convert -O raw src.qcow2 c3.raw
content c3.raw
same convert -c -O qcow2 src.raw c4.qcow2
content c4.qcow2
same convert -W -m 3 -c -O qcow2 -o cluster_size=4k src.raw c5.qcow2
content c5.qcow2
same convert -p -O qcow2 -o compression_type=zstd -c src.raw c6.qcow2
content c6.qcow2
same convert -S 0 -q src.raw c7.raw
content c7.raw
same convert src.raw src.qcow2 c8.raw
content c8.raw
same convert -O qcow2 -o cluster_size=2M,compat=0.10 src.qcow2 c9.qcow2
content c9.qcow2
# An overlay: -B keeps what the top does not hold in the backing.
prep "qemu-img create -f qcow2 -b src.qcow2 -F qcow2 ov.qcow2 &&
      qemu-io -c 'write -P 0x55 1M 100k' -c 'write -z 3M 1M' -c 'write -P 0x66 15M 64k' ov.qcow2"
same convert -O qcow2 ov.qcow2 c10.qcow2
content c10.qcow2
same convert -O qcow2 -B src.qcow2 -F qcow2 ov.qcow2 c11.qcow2
content c11.qcow2
same map --output=json c11.qcow2
prep "head -c 16777216 /dev/zero | tr '\\0' 'g' >garbage.raw"
same convert -n -O raw ov.qcow2 garbage.raw
content garbage.raw
prep "qemu-img create -f qcow2 target.qcow2 16M && qemu-io -c 'write -P 7 0 16M' target.qcow2"
same convert -n -O qcow2 ov.qcow2 target.qcow2
content target.qcow2

# The output is one of the inputs: refused, the input left as it was.
prep "cp src.raw same.raw"
same convert -f raw -O raw same.raw same.raw
same convert -n -f raw -O raw same.raw same.raw
content same.raw

# --- compare ---
prep "cp src.raw diff.raw && printf X | dd of=diff.raw bs=1 seek=5000000 conv=notrunc"
prep "qemu-img create -f raw big.raw 20M && dd if=src.raw of=big.raw conv=notrunc,sparse bs=1M"
prep "cp big.raw big2.raw && printf Y | dd of=big2.raw bs=1 seek=19000000 conv=notrunc"
same compare
same compare src.raw
same compare src.raw diff.raw
same compare src.raw c1.raw
same compare -s src.raw c1.raw
same compare src.raw src.qcow2
same compare -s -f raw -F qcow2 src.raw src.qcow2
same compare src.raw big.raw
same compare -s src.raw big.raw
same compare src.raw big2.raw
same compare big2.raw src.raw
same compare src.raw nonexist
same compare -T foo src.raw diff.raw
same compare -p src.raw c1.raw
same compare -q src.raw diff.raw
same compare -U src.raw diff.raw
same compare -f qcow2 src.raw diff.raw
same compare ov.qcow2 c10.qcow2

# --- commit ---
chain="qemu-img create -f qcow2 cb.qcow2 16M && qemu-io -c 'write -P 1 0 8M' cb.qcow2 &&
       qemu-img create -f qcow2 -b cb.qcow2 -F qcow2 cm.qcow2 &&
       qemu-io -c 'write -P 2 1M 1M' -c 'write -z 3M 1M' cm.qcow2 &&
       qemu-img create -f qcow2 -b cm.qcow2 -F qcow2 ct.qcow2 20M &&
       qemu-io -c 'write -P 3 2M 64k' -c 'write -P 4 17M 64k' ct.qcow2"
for args in "" "cb.qcow2" "-b nonex ct.qcow2" "-t foo ct.qcow2" "-r abc ct.qcow2" "a.raw" \
            "-f raw ct.qcow2" "ct.qcow2" "-d ct.qcow2" "-q -b cb.qcow2 ct.qcow2" \
            "-b cm.qcow2 ct.qcow2"; do
    prep "rm -f c[bmt].qcow2 && $chain"
    # shellcheck disable=SC2086
    same commit $args
    case "$args" in
    *ct.qcow2)
        content cb.qcow2
        content cm.qcow2
        content ct.qcow2
        ;;
    esac
done

# --- rebase ---
for args in "" "ct.qcow2" "-b nb.qcow2 ct.qcow2" "-b nb.qcow2 -F qcow2 ct.qcow2" \
            "-u -b nb.qcow2 -F qcow2 ct.qcow2" "-b nothere -F qcow2 ct.qcow2" \
            "-b nb.qcow2 -F foo ct.qcow2" "-t foo -b nb.qcow2 ct.qcow2" \
            "-T foo -b nb.qcow2 ct.qcow2" "-q -b nb.qcow2 -F qcow2 ct.qcow2" \
            "-b nb.qcow2 -F qcow2 cb.qcow2" "-u ct.qcow2" "-f raw -b nb.qcow2 -F qcow2 src.raw" \
            "-b cb.qcow2 -F qcow2 ct.qcow2"; do
    prep "rm -f c[bmt].qcow2 nb.qcow2 && $chain && qemu-img create -f qcow2 nb.qcow2 16M &&
          qemu-io -c 'write -P 9 0 2M' nb.qcow2"
    # shellcheck disable=SC2086
    same rebase $args
    same info ct.qcow2
    content ct.qcow2
done
prep "rm -f c[bmt].qcow2 && $chain"
same rebase -b '' ct.qcow2
content ct.qcow2

# --- bench ---
prep "qemu-img create -f qcow2 bq.qcow2 64M"
for args in "-c 1000 bq.qcow2" "-c 1000 -w bq.qcow2" "-c 1000 -w --flush-interval=100 bq.qcow2" \
            "-c 100 -w --flush-interval=100 --no-drain bq.qcow2" "--flush-interval=10 -c 10 bq.qcow2" \
            "-c 0 bq.qcow2" "-c x bq.qcow2" "-d x bq.qcow2" "-d 5 -c 10 -s 64k -S 1M -o 1M bq.qcow2" \
            "-S -1 bq.qcow2" "-o x bq.qcow2" "-i foo bq.qcow2" "-i native -c 10 bq.qcow2" \
            "-t foo bq.qcow2" "--pattern=300 -w bq.qcow2" "-c 10 -q bq.qcow2" "" \
            "-c 10 -o 64M bq.qcow2" "-U -c 10 -w bq.qcow2" "-c 10 -n bq.qcow2" "-s 3G bq.qcow2" \
            "-c 10 -S 0 bq.qcow2" "-t none -i native -c 10 bq.qcow2"; do
    # shellcheck disable=SC2086
    same bench $args
done
same bench -w -c 300 --pattern=0x5a -s 64k -S 64k bq.qcow2
content bq.qcow2

# --- dd ---
for args in "if=src.raw of=d1.raw" "if=src.raw of=d2.raw bs=1M count=3" \
            "if=src.raw of=d3.raw bs=64k skip=10 count=5" "if=src.raw" "foo=1 if=src.raw of=x" \
            "if=src.raw of=x bs=0" "if=src.raw of=x bs=abc" "if=src.raw of=x count=abc" \
            "if=src.raw of=x skip=-1" "if=src.raw of=d4.raw skip=1000000" \
            "if=src.raw of=d5.raw count=0" "-f qcow2 if=src.raw of=x" "if=nonexist of=x" \
            "if=src.raw of=d6.raw bs=1M skip=3" "if=src.raw of=d7.raw bs=3k skip=1 count=2" \
            "if=src.raw of=x bs" "-O foo if=src.raw of=x" "if=src.raw of=x bs=3G" \
            "-O qcow2 if=src.qcow2 of=d8.qcow2 bs=1M count=5" "-p if=src.raw of=x"; do
    # shellcheck disable=SC2086
    same dd $args
    for f in $args; do
        case "$f" in of=d*) content "${f#of=}" ;; esac
    done
done

echo "1..$n"
[ "$fails" -eq 0 ]
