#!/bin/sh
# QMP as a shell script drives it: one echo piped through socat, the way
# QEMU's documentation shows.  Prints TAP.  The VM runs on the software
# CPU, so every host runs it.
#   socat.sh HYVM_BINARY
set -u

hyvm=$1
echo "1..1"
if ! command -v socat >/dev/null 2>&1; then
    echo "ok 1 # SKIP socat not installed (scripts/install-deps.sh)"
    exit 0
fi

dir=$(mktemp -d "${TMPDIR:-/tmp}/hyvm-socat-XXXXXX")
sock=$dir/qmp.sock
"$hyvm" -accel tcg -S -M microvm -display none -nodefaults \
    -qmp "unix:$sock,server=on,wait=off" </dev/null >"$dir/out" 2>&1 &
pid=$!
cleanup() {
    kill "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT

i=0
while [ ! -S "$sock" ] && [ $i -lt 500 ]; do
    sleep 0.01
    i=$((i + 1))
done

# socat ends when our side hits EOF; -t gives the replies time to arrive.
got=$(echo '{"execute":"qmp_capabilities"}{"execute":"query-status"}' |
      socat -t 2 - "UNIX-CONNECT:$sock" | tr -d '\r')
want_tail='{"return": {}}
{"return": {"status": "prelaunch", "singlestep": false, "running": false}}'
greeting=$(printf '%s\n' "$got" | sed -n 1p)
rest=$(printf '%s\n' "$got" | sed -n '2,$p')

case $greeting in
'{"QMP": {"version": {"qemu": {"micro": '*'"capabilities": ["oob"]}}') ok=1 ;;
*) ok=0 ;;
esac
if [ $ok = 1 ] && [ "$rest" = "$want_tail" ]; then
    echo "ok 1 socat: greeting, qmp_capabilities, query-status"
else
    echo "not ok 1 socat: greeting, qmp_capabilities, query-status"
    printf '%s\n' "$got" | sed 's/^/# got: /'
    sed 's/^/# hyvm: /' "$dir/out"
fi
