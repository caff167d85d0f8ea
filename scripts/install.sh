#!/usr/bin/env bash
# Installs the built plugins into a CNI bin directory (default /opt/cni/bin), as one executable and a
# hard link per plugin name, exactly like dist/bin. Existing files of the same names are replaced
# atomically (rename), so a runtime never sees a half-written binary.
#   scripts/install.sh [DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
dest="${1:-/opt/cni/bin}"
[ -x dist/tscni ] || { echo "install: dist/tscni missing: run 'npm run build' first" >&2; exit 1; }
mkdir -p "$dest"
tmp="$dest/.tscni.$$"
cp dist/tscni "$tmp"
chmod 0755 "$tmp"
for f in dist/bin/*; do
  name=$(basename "$f")
  ln -f "$tmp" "$dest/.$name.$$"
  mv -f "$dest/.$name.$$" "$dest/$name"
done
rm -f "$tmp"
echo "installed $(ls dist/bin | wc -l) plugins into $dest" >&2
