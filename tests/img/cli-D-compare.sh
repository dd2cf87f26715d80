#!/bin/bash
# hyvm-img against qemu-img, command by command: each case runs the same
# qemu-img command line in two scratch directories, once with Debian's
# qemu-img and once with hyvm-img (called through a link named qemu-img, so
# messages carry the same program name), and compares stdout, stderr and
# the exit code byte for byte.  TAP on stdout.
#
# usage: cli-D-compare.sh [path/to/hyvm-img]   (or HYVM_IMG=...)
# Needs qemu-img (qemu-utils); skips everything without it.
set -u

HYVM_IMG=${1:-${HYVM_IMG:-}}
if [ -z "$HYVM_IMG" ] || [ ! -x "$HYVM_IMG" ]; then
    echo "1..0 # SKIP no hyvm-img given"
    exit 0
fi
HYVM_IMG=$(realpath "$HYVM_IMG")
if ! command -v qemu-img >/dev/null; then
    echo "1..0 # SKIP qemu-img not installed"
    exit 0
fi

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/bin" "$TMP/Q" "$TMP/H"
ln -s "$HYVM_IMG" "$TMP/bin/qemu-img"
# Dates in snapshot tables are local time: pin the zone.
export TZ=UTC

n=0
fails=0

# run DIR PROG args... -> DIR.out (stdout, stderr, exit code)
run() {
    local dir=$1 prog=$2
    shift 2
    (cd "$TMP/$dir" && "$prog" "$@" >"$TMP/$dir.stdout" 2>"$TMP/$dir.stderr"; \
     echo "rc=$?" >"$TMP/$dir.rc")
}

# same [TODO reason] -- args...: one test case.
same() {
    local todo=""
    if [ "$1" != "--" ]; then
        todo=" # TODO $1"
        shift
    fi
    shift
    n=$((n + 1))
    run Q qemu-img "$@"
    run H "$TMP/bin/qemu-img" "$@"
    if cmp -s "$TMP/Q.stdout" "$TMP/H.stdout" && cmp -s "$TMP/Q.stderr" "$TMP/H.stderr" &&
       cmp -s "$TMP/Q.rc" "$TMP/H.rc"; then
        echo "ok $n - qemu-img $*$todo"
    else
        echo "not ok $n - qemu-img $*$todo"
        for f in stdout stderr rc; do
            diff "$TMP/Q.$f" "$TMP/H.$f" | head -20 | sed "s/^/# $f: /"
        done
        [ -z "$todo" ] && fails=$((fails + 1))
    fi
}

# Both directories get the same file made by qemu-img.
prep() {
    (cd "$TMP/Q" && qemu-img "$@" >/dev/null) && (cd "$TMP/H" && qemu-img "$@" >/dev/null)
}

# --- command line and messages ---
same -- create
same -- create -f raw
same -- create -f raw -Z x.raw 1M
same -- create -f raw x.raw 1M 2
same -- create -f xx x.raw 1M
same -- create -f raw x.raw 1x
same -- create -f raw x.raw 9E
same -- create -f raw x.raw 1.5
same -- create -f raw -o ,, x.raw
same -- create -f raw -o foo=1 x.raw 1M
same -- create -f raw -o nocow=maybe x.raw 1M
same -- create -f raw -o extent_size_hint=x x.raw 1M
same -- create -f raw -o size=1M x.raw 1M
same -- create -f raw -b base.raw -F raw x.raw 1M
same -- create -f raw x.raw
same -- create -f raw -o help
same -- create -f raw -o help x.raw
same -- create -f raw -o '?' x.raw
same -- info
same -- info a b
same -- info --output=xml x
same -- info --output
same -- info nonexist.raw
same -- check -r bogus x
same -- check
same -- map --start-offset=x x
same -- map --max-length=9E x
same -- resize x
same -- resize -f raw x -x
same -- resize -f raw --preallocation=bogus x 1M
same -- snapshot -l -c x y
same -- snapshot -f raw -l x
same -- measure -O raw
same -- measure -f raw
same -- measure a b
same -- measure --size x
same -- measure -O foo --size 1
same -- measure -O raw -o foo=1 --size 1
same -- amend x
same -- amend -f raw -o help
same -- amend -f xx -o help
same -- create -f file -o help
same -- create -f file -o help x.img
same -- info -f xx x
same -- check -f xx x
same -- map -f xx x
same -- resize -f xx x 1G
same -- measure -f xx x

# --- raw images ---
same -- create -f raw r1.raw 1M
same -- create -q -f raw r2.raw 1G
same -- create -f raw r3.raw 1.5k
same -- create -f raw -o size=2M,preallocation=falloc r4.raw
same -- create -f raw -o preallocation=full r5.raw 100k
same -- create r6.raw 0x10
same -- info -f raw r1.raw
same -- info -f raw --output=json r3.raw
same -- info -f raw --backing-chain r4.raw
same -- info -f raw --backing-chain --output=json r5.raw
same -- info r1.raw
same -- check -f raw r1.raw
same -- check -f raw --output=json r1.raw
same -- map -f raw r1.raw
same -- map -f raw --output=json r4.raw
same -- map -f raw r5.raw
same -- map -f raw --output=json --start-offset=4k --max-length=16k r5.raw
same -- measure --size 1G
same -- measure -O raw -f raw --output=json r4.raw
same -- snapshot -l -U r1.raw
same -- resize -f raw r1.raw 2M
same -- resize -f raw r1.raw +1M
same -- resize -f raw r1.raw -- -1M
same -- resize -f raw --shrink r1.raw -- -1M
same -- resize -f raw --shrink r1.raw -- -5M
same -- resize -q -f raw r1.raw 3M
same -- resize -f raw --preallocation=falloc r1.raw 4M
same -- resize -f raw --preallocation=full --shrink r1.raw 1M
same -- resize -f raw r1.raw 9E
same -- resize -f raw r1.raw 0
same -- info -f raw --output=json r1.raw
same -- amend -o size=1 -f raw r1.raw
# A sparse raw file: holes, data, and the same bytes in both copies.
head -c 131072 /dev/urandom >"$TMP/data"
for d in Q H; do
    truncate -s 10M "$TMP/$d/sp.raw"
    dd if="$TMP/data" of="$TMP/$d/sp.raw" bs=64k seek=3 conv=notrunc 2>/dev/null
    dd if="$TMP/data" of="$TMP/$d/sp.raw" bs=4k count=1 seek=2000 conv=notrunc 2>/dev/null
done
same -- map -f raw sp.raw
same -- map -f raw --output=json sp.raw
same -- measure -O raw -f raw sp.raw

# --- qcow2 images, when hyvm-img has qcow2 ---
if (cd "$TMP" && "$HYVM_IMG" create -q -f qcow2 probe.qcow2 1M 2>/dev/null); then
    same -- create -f qcow2 q1.qcow2 1G
    same -- create -f qcow2 q1.qcow2
    same -- create -f qcow2 -o cluster_size=4k,lazy_refcounts=on,compat=0.10 q2.qcow2 1M
    same -- create -f qcow2 -o cluster_size=3000 q2.qcow2 1M
    same -- create -f qcow2 -o refcount_bits=3 q2.qcow2 1M
    same -- create -f qcow2 -o lazy_refcounts=maybe q2.qcow2 1M
    same -- create -f qcow2 -o compat=v3,refcount_bits=8,compression_type=zstd q3.qcow2 1M
    same -- create -f qcow2 -o extended_l2=on,cluster_size=128k q4.qcow2 64M
    same -- create -f qcow2 -o preallocation=metadata q5.qcow2 1M
    same -- create -f qcow2 -b q1.qcow2 q6.qcow2
    same -- create -f qcow2 -u -b q1.qcow2 q6.qcow2 1M
    same -- create -f qcow2 -b nonexist -F qcow2 q6.qcow2
    same -- create -f qcow2 -b q1.qcow2 -F qcow2 q6.qcow2
    same -- create -f qcow2 -b q6.qcow2 -F qcow2 q7.qcow2 2G
    same -- create -f qcow2 -F raw q8.qcow2 1M
    same -- create -f qcow2 -o help
    same -- create -f qcow2 -o help q.qcow2
    same -- create -f qcow2 -o size=1M,help q.qcow2
    same -- info q1.qcow2
    same -- info --output=json q3.qcow2
    same -- info q4.qcow2
    same -- info --backing-chain q7.qcow2
    same -- info --backing-chain --output=json q7.qcow2
    same -- check q1.qcow2
    same -- check --output=json q5.qcow2
    same -- check -r all q7.qcow2
    same -- map q7.qcow2
    same -- map --output=json q7.qcow2
    same -- map --output=json q5.qcow2
    same -- measure -O qcow2 --size 1G
    same -- measure -O qcow2 -o cluster_size=4k,preallocation=full --size 1G
    same -- measure -O qcow2 q1.qcow2
    same -- measure -O qcow2 --output=json q7.qcow2
    same -- snapshot -l q1.qcow2
    same -- snapshot -d nonexist q1.qcow2
    same -- snapshot -a nonexist q1.qcow2
    same -- resize q1.qcow2 +1G
    same -- resize q1.qcow2 1G
    same -- info q1.qcow2
    same "no encryption: no encrypt.* options" -- amend -f qcow2 -o help
    same -- amend -o cluster_size=4k q1.qcow2
    same -- amend -o compat=0.10 q1.qcow2
    same -- info --output=json q1.qcow2
    # Images with data and snapshots, written by qemu-img's tools.
    prep create -f qcow2 d.qcow2 64M
    if command -v qemu-io >/dev/null; then
        for d in Q H; do
            (cd "$TMP/$d" && qemu-io -c "write -P 1 0 3M" -c "write -c 4M 128k" d.qcow2 \
                >/dev/null)
        done
        prep create -f qcow2 -b d.qcow2 -F qcow2 t.qcow2
        for d in Q H; do
            (cd "$TMP/$d" && qemu-io -c "write 1M 64k" -c "write -z 2M 128k" \
                -c "write 8M 512" t.qcow2 >/dev/null)
        done
        same -- check d.qcow2
        same -- check --output=json d.qcow2
        same -- map t.qcow2
        same -- map --output=json t.qcow2
        same -- map --output=json --start-offset=1M --max-length=5M t.qcow2
        same -- measure -O qcow2 t.qcow2
        same -- measure -O raw --output=json t.qcow2
    fi
    prep create -f qcow2 s.qcow2 64M
    for d in Q H; do
        (cd "$TMP/$d" && TZ=UTC qemu-img snapshot -c snap1 s.qcow2 &&
         qemu-img snapshot -c "a very long snapshot name here" s.qcow2)
    done
    # Snapshot dates differ between the two copies by the time between
    # them; list the same file in both directories instead.
    cp "$TMP/Q/s.qcow2" "$TMP/s.qcow2"
    cp "$TMP/s.qcow2" "$TMP/Q/s.qcow2"
    cp "$TMP/s.qcow2" "$TMP/H/s.qcow2"
    same -- snapshot -l s.qcow2
    same -- info s.qcow2
    same -- info --output=json s.qcow2
    same -- snapshot -d snap1 s.qcow2
    same -- snapshot -l s.qcow2
    # Snapshots, amend and resize on equal images in both directories.
    prep create -f qcow2 s2.qcow2 64M
    same -- snapshot -c snap1 s2.qcow2
    same -- snapshot -c snap2 s2.qcow2
    same -- snapshot -c snap1 s2.qcow2
    same -- snapshot -q -c "with space" s2.qcow2
    same -- snapshot -d 1 s2.qcow2
    same -- snapshot -a nonexist s2.qcow2
    same -- snapshot -a 2 s2.qcow2
    same -- snapshot -a snap2 s2.qcow2
    same -- snapshot -d snap1 s2.qcow2
    same -- snapshot -U -c y s2.qcow2
    same -- snapshot -l -c y s2.qcow2
    same -- snapshot -f qcow2 -l s2.qcow2
    same -- check s2.qcow2
    prep create -f qcow2 am.qcow2 64M
    same -- amend am.qcow2
    same -- amend -o compat=0.10 am.qcow2
    same -- info am.qcow2
    same -- amend -o compat=1.1 am.qcow2
    same -- amend -o lazy_refcounts=on am.qcow2
    same -- info --output=json am.qcow2
    same -- amend -o refcount_bits=8 am.qcow2
    same -- check am.qcow2
    same -- amend -o compat=v2 am.qcow2
    same -- amend -o size=128M am.qcow2
    same -- amend -o size=1M am.qcow2
    same -- amend -o foo=bar am.qcow2
    same -- amend -q -p -o compat=1.1 am.qcow2
    same -- amend --force -o backing_file=s2.qcow2,backing_fmt=qcow2 am.qcow2
    same -- info am.qcow2
    same -- resize --preallocation=metadata am.qcow2 +1M
    same -- resize --preallocation=falloc am.qcow2 +1M
    same -- resize --preallocation=full am.qcow2 +1M
    # (where the new clusters go is the driver's choice: no check after it)
    # Backing chains in a subdirectory, compressed and zero clusters.
    if command -v qemu-io >/dev/null; then
        for d in Q H; do
            (cd "$TMP/$d" && mkdir -p sub && qemu-img create -q -f qcow2 c.qcow2 64M &&
             qemu-io -c "write -P 1 0 3M" -c "write -c 4M 128k" -c "write -z 10M 1M" \
                 c.qcow2 >/dev/null &&
             qemu-img create -q -f qcow2 -b ../c.qcow2 -F qcow2 sub/t.qcow2 &&
             qemu-io -c "write 1M 64k" -c "write -z 2M 128k" -c "write 8M 512" \
                 -c "discard 0 64k" sub/t.qcow2 >/dev/null &&
             qemu-img create -q -f qcow2 -b t.qcow2 -F qcow2 sub/t2.qcow2 128M &&
             qemu-img create -q -f raw rb.raw 2M &&
             qemu-img create -q -f qcow2 -b rb.raw -F raw ovr.qcow2)
        done
        same -- info sub/t.qcow2
        same -- info --backing-chain sub/t2.qcow2
        same -- info --backing-chain --output=json sub/t2.qcow2
        same -- map sub/t2.qcow2
        same -- map --output=json sub/t2.qcow2
        same -- map c.qcow2
        same -- map --output=json c.qcow2
        same -- map --output=json --max-length=1 sub/t2.qcow2
        same -- map --output=json --start-offset=100M sub/t2.qcow2
        same -- map --output=json ovr.qcow2
        same -- map ovr.qcow2
        same -- check --output=json c.qcow2
        same -- check sub/t2.qcow2
        same -- measure -O qcow2 sub/t2.qcow2
        same -- measure -O qcow2 -o cluster_size=4k c.qcow2
        same -- measure -f raw -O qcow2 rb.raw
        same -- create -f qcow2 -b sub/t2.qcow2 n.qcow2
        same -- create -f qcow2 -b t.qcow2 -F qcow2 sub/n2.qcow2
        same -- create -f qcow2 -b ../c.qcow2 -F qcow2 sub/n3.qcow2 1G
        same -- info sub/n3.qcow2
        same -- create -f qcow2 -b rb.raw -F qcow2 n4.qcow2
        same -- \
            create -f qcow2 -b c.qcow2 -F raw n5.qcow2
    fi
    # A qcow2 over the sparse raw file.
    prep create -q -f qcow2 -b sp.raw -F raw spo.qcow2
    same -- map spo.qcow2
    same -- map --output=json spo.qcow2
    same -- measure -O qcow2 -f raw sp.raw
    same -- measure -O qcow2 spo.qcow2
    # A missing backing file further down.
    prep create -q -f qcow2 -u -b gone.qcow2 -F qcow2 orphan.qcow2 1M
    same -- info orphan.qcow2
    same -- info --backing-chain orphan.qcow2
    same -- check orphan.qcow2
    same -- map orphan.qcow2
    same -- snapshot -l orphan.qcow2
    same -- create -f qcow2 -b orphan.qcow2 -F qcow2 o2.qcow2
    # Backing loops (qemu-img's map and check hang on them; info stops).
    prep create -q -f qcow2 l1.qcow2 1M
    prep create -q -f qcow2 -b l1.qcow2 -F qcow2 l2.qcow2
    prep rebase -u -b l2.qcow2 -F qcow2 l1.qcow2
    prep create -q -f qcow2 self.qcow2 1M
    prep rebase -u -b self.qcow2 -F qcow2 self.qcow2
    same -- info l2.qcow2
    same -- info --backing-chain l2.qcow2
    same -- info --backing-chain --output=json self.qcow2
    # Leaks and corruptions: refcounts patched in the first refcount block.
    if command -v qemu-io >/dev/null && command -v python3 >/dev/null; then
        cat >"$TMP/setref.py" <<'PY'
import struct, sys
f, cl, val = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
d = bytearray(open(f, 'rb').read())
rt = struct.unpack('>Q', d[48:56])[0]
rb = struct.unpack('>Q', d[rt:rt + 8])[0]
struct.pack_into('>H', d, rb + 2 * cl, val)
open(f, 'wb').write(d)
PY
        for d in Q H; do
            (cd "$TMP/$d" && qemu-img create -q -f qcow2 lk.qcow2 64M &&
             qemu-io -c "write 0 64k" lk.qcow2 >/dev/null &&
             cp lk.qcow2 co.qcow2 && cp lk.qcow2 co2.qcow2 &&
             python3 ../setref.py lk.qcow2 7 1 && cp lk.qcow2 lk2.qcow2 &&
             python3 ../setref.py co.qcow2 3 0 && python3 ../setref.py co2.qcow2 3 0)
        done
        same -- check lk.qcow2
        same -- check --output=json lk.qcow2
        same -- check -q lk.qcow2
        same -- check -U -r leaks lk.qcow2
        same -- check -r leaks lk.qcow2
        same -- check lk.qcow2
        same -- check -r all --output=json lk2.qcow2
        same -- check co.qcow2
        same -- check --output=json co.qcow2
        same -- check -r leaks co.qcow2
        same -- check -r all co2.qcow2
        same -- check co2.qcow2
        # The dirty bit (incompatible feature bit 0) of a lazy-refcounts image.
        for d in Q H; do
            (cd "$TMP/$d" && qemu-img create -q -f qcow2 -o lazy_refcounts=on dirty.qcow2 1M &&
             python3 -c "
import struct
d = bytearray(open('dirty.qcow2', 'rb').read())
d[72:80] = struct.pack('>Q', struct.unpack('>Q', d[72:80])[0] | 1)
open('dirty.qcow2', 'wb').write(d)")
        done
        same -- info dirty.qcow2
        same -- info --output=json dirty.qcow2
        same -- check -r leaks dirty.qcow2
        same -- info dirty.qcow2
    fi
    # Images a running QEMU holds: the same lock messages, -U lets readers in.
    if command -v qemu-system-x86_64 >/dev/null; then
        prep create -q -f qcow2 lock.qcow2 1M
        qemu-system-x86_64 -S -display none -nodefaults -machine accel=tcg -monitor none \
            -drive file="$TMP/Q/lock.qcow2",if=none,id=d0 \
            -drive file="$TMP/H/lock.qcow2",if=none,id=d1 &
        qpid=$!
        # Until QEMU holds its locks (a plain qemu-img info then fails).
        for _ in $(seq 50); do
            qemu-img info "$TMP/Q/lock.qcow2" >/dev/null 2>&1 || break
            sleep 0.2
        done
        same -- info lock.qcow2
        same -- info -U lock.qcow2
        same -- check lock.qcow2
        same -- map -U lock.qcow2
        same -- snapshot -l -U lock.qcow2
        same -- snapshot -c x lock.qcow2
        same -- resize lock.qcow2 2M
        same -- amend -o compat=0.10 lock.qcow2
        same -- measure -U -O qcow2 lock.qcow2
        same -- create -f qcow2 -b lock.qcow2 -F qcow2 lock-top.qcow2
        kill $qpid
        wait $qpid 2>/dev/null
    fi
else
    echo "# hyvm-img has no qcow2 yet: qcow2 cases skipped"
fi

echo "1..$n"
[ "$fails" -eq 0 ]
