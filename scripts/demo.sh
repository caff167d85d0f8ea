#!/usr/bin/env bash
# Builds the suite and shows it working: a container network namespace wired up by the built
# plugin exactly as a runtime would call it (env + config on stdin), the CNI result, connectivity,
# then everything removed again. Run as root.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/node_modules/.bin:$PATH"
npm run --silent build
exec node scripts/demo.mjs
