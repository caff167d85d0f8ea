#!/usr/bin/env bash
# Installs the built plugins into a CNI bin directory (default /opt/cni/bin), as one executable and a
# hard link per plugin name, exactly like dist/bin. Existing files of the same names are replaced
# atomically (rename), so a runtime never sees a half-written binary.
#   scripts/install.sh [--systemd] [DIR]
# --systemd also installs the dhcp daemon's units (conf-examples/systemd/cni-dhcp.{socket,service})
# into /etc/systemd/system, pointed at DIR, and reloads systemd; enable them with
# `systemctl enable --now cni-dhcp.socket`.
set -euo pipefail
cd "$(dirname "$0")/.."
systemd=0
dest=/opt/cni/bin
for arg in "$@"; do
  case "$arg" in
    --systemd) systemd=1 ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install: unknown option $arg" >&2; exit 2 ;;
    *) dest="$arg" ;;
  esac
done
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

if [ "$systemd" = 1 ]; then
  # TSCNI_SYSTEMD_UNIT_DIR redirects the units (tests, image builds); systemd is reloaded only for
  # the real unit directory.
  units="${TSCNI_SYSTEMD_UNIT_DIR:-/etc/systemd/system}"
  mkdir -p "$units"
  install -m 0644 conf-examples/systemd/cni-dhcp.socket "$units/cni-dhcp.socket"
  # The service runs the dhcp binary from where it was just installed.
  sed "s#^ExecStart=/opt/cni/bin/dhcp #ExecStart=$dest/dhcp #" conf-examples/systemd/cni-dhcp.service > "$units/.cni-dhcp.service.$$"
  chmod 0644 "$units/.cni-dhcp.service.$$"
  mv -f "$units/.cni-dhcp.service.$$" "$units/cni-dhcp.service"
  if [ "$units" = /etc/systemd/system ] && command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
  else
    echo "install: systemd is not running here; units written to $units" >&2
  fi
  echo "installed cni-dhcp.socket and cni-dhcp.service into $units (enable: systemctl enable --now cni-dhcp.socket)" >&2
fi
