#!/bin/sh
# The long run of the differential tester (issue 5, item 5; the x87, MMX and
# SSE groups of issue 6, item 7): the host CPU against the software CPU over
# many cases (default 10 million) with a fresh seed, printing the count and
# the seed so a failure can be rerun.
#
#   tests/bench/diff-long.sh [BUILD_DIR]      (default: build)
#   HYVM_DIFF_CASES=N  HYVM_DIFF_SEED=S       override the count / the seed
#   HYVM_DIFF_GROUPS=P                        only the groups matching P, a
#                                             comma-separated list of globs;
#                                             "fp" is short for the x87/MMX/SSE
#                                             ones: x87-*,mmx-*,sse*
#
# The full TAP log (with every mismatch report) goes to diff-long.log in
# the build directory.  Exit status: 0 when nothing differed.
set -eu

build=${1:-build}
exe="$build/tests/diff/test-diff"
log="$build/diff-long.log"
cases=${HYVM_DIFF_CASES:-10000000}
seed=${HYVM_DIFF_SEED:-random}
groups=${HYVM_DIFF_GROUPS:-}
[ "$groups" = fp ] && groups='x87-*,mmx-*,sse*'

if [ ! -x "$exe" ]; then
    echo "diff-long: $exe not built (ninja -C $build tests/diff/test-diff)" >&2
    exit 2
fi

start=$(date +%s)
set +e
HYVM_DIFF_CASES=$cases HYVM_DIFF_SEED=$seed HYVM_DIFF_GROUPS=$groups \
    "$exe" --tap -k >"$log" 2>&1
rc=$?
set -e
end=$(date +%s)

grep '^# seed ' "$log" || true
grep '^not ok' "$log" || true
grep -c '^ok .* # SKIP' "$log" | sed 's/^/skipped mnemonics: /'
grep '^ok .* # SKIP' "$log" | sed 's/^ok [0-9]* /  /' || true
grep '^# diff total:' "$log" || echo "diff-long: no total line (crashed?), see $log"
grep '^# diff x87/SSE:' "$log" || true
echo "elapsed: $((end - start)) s; log: $log"
exit $rc
