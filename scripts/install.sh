#!/usr/bin/env bash
# Installs the built plugins into a CNI bin directory (default /opt/cni/bin) with `dist/tscni install`:
# ONE copy of the executable (DIR/tscni) and a link per plugin name, each replaced atomically; a file
# that is not tscni's (e.g. the Go reference plugins) is refused unless --force. Then puts `tscni` on
# the PATH as a symlink to DIR/tscni (no second copy).
#   scripts/install.sh [--systemd] [--force] [--path-dir PATHDIR | --no-path] [DIR]
# --path-dir: where the `tscni` symlink goes (default /usr/local/bin); --no-path: no symlink.
# --systemd also installs the dhcp daemon's units (conf-examples/systemd/cni-dhcp.{socket,service})
# into /etc/systemd/system, pointed at DIR, and reloads systemd; enable them with
# `systemctl enable --now cni-dhcp.socket`.
set -euo pipefail
cd "$(dirname "$0")/.."
systemd=0
force=()
dest=/opt/cni/bin
path_dir=/usr/local/bin
while [ "$#" -gt 0 ]; do
  case "$1" in
    --systemd) systemd=1 ;;
    --force) force=(--force) ;;
    --path-dir)
      [ "$#" -ge 2 ] || { echo "install: --path-dir needs a directory" >&2; exit 2; }
      path_dir="$2"; shift ;;
    --no-path) path_dir= ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "install: unknown option $1" >&2; exit 2 ;;
    *) dest="$1" ;;
  esac
  shift
done
[ -x dist/tscni ] || { echo "install: dist/tscni missing: run 'npm run build' first" >&2; exit 1; }
dist/tscni install "${force[@]}" "$dest"
dest="$(cd "$dest" && pwd -P)"

if [ -n "$path_dir" ]; then
  link="$path_dir/tscni"
  # Only a symlink (ours or a stale one) is replaced: a real file there is someone's program.
  if [ -e "$link" ] && [ ! -L "$link" ] && [ "${#force[@]}" -eq 0 ]; then
    echo "install: $link exists and is not a symlink: not replaced (use --force, or --no-path)" >&2
    exit 1
  fi
  mkdir -p "$path_dir"
  ln -sfn "$dest/tscni" "$path_dir/.tscni.$$"
  mv -fT "$path_dir/.tscni.$$" "$link"
  echo "tscni on the PATH: $link -> $dest/tscni" >&2
fi

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
