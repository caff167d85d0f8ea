#!/usr/bin/env bash
# Test-only: a plugin directory with tscni's main and IPAM plugins (dist/bin) and the Go reference's
# meta plugins (/usr/lib/cni), to check the runtimes rigs while tscni's meta plugins are not built:
#   bash test/integration/runtimes/mixed-plugin-dir.sh /tmp/rt-mixed
#   TSCNI_TEST_PLUGIN_DIR=/tmp/rt-mixed npx vitest run test/integration/runtimes
# Results in that mode prove the rigs, not tscni: the default (dist/bin alone) is what counts.
set -euo pipefail
dest=${1:?usage: mixed-plugin-dir.sh DIR}
root=$(cd "$(dirname "$0")/../../.." && pwd)
ref=${TSCNI_REF_DIR:-/usr/lib/cni}
mkdir -p "$dest"
for f in "$root"/dist/bin/*; do ln -sfn "$f" "$dest/$(basename "$f")"; done
for m in portmap firewall tuning bandwidth sbr vrf; do ln -sfn "$ref/$m" "$dest/$m"; done
