#!/usr/bin/env bash
# priv-net-run.sh COMMAND [ARG...]
#
# Runs COMMAND in a fresh network namespace wired to every network in $NETCONFPATH by the CNI
# plugins, then removes everything: the behaviour of the CNI project's script of this name, in our
# own implementation (needs bash, iproute2 and jq).
#
# - Creates netns <prefix>-<random id> ($PRIV_NET_RUN_PREFIX, default "cni"), brings its lo up, and
#   runs `exec-plugins.sh add <id> /run/netns/<name>` from this script's directory (see there for
#   NETCONFPATH, CNI_PATH, CNI_ARGS, CAP_ARGS, EXEC_PLUGINS_STATE_DIR). The random id is the
#   container ID given to the plugins.
# - Runs COMMAND inside the netns (`ip netns exec`) with this script's stdin, stdout and stderr, and
#   exits with COMMAND's exit status.
# - On every exit (COMMAND done or failed, a failed add, SIGINT, SIGTERM or SIGHUP) runs
#   `exec-plugins.sh del` and deletes the netns. A signal is passed on to COMMAND first and the
#   script exits with 128+signal number once COMMAND has ended. When COMMAND succeeded but the
#   clean-up failed, the exit status is 1.
set -euo pipefail

if [ "$#" -eq 0 ]; then
  sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
fi
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
exec_plugins="$here/exec-plugins.sh"
prefix="${PRIV_NET_RUN_PREFIX:-cni}"
[[ "$prefix" =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ ]] || { echo "priv-net-run: invalid PRIV_NET_RUN_PREFIX '$prefix'" >&2; exit 2; }
cid="$(printf '%04x%04x%04x%04x' "$RANDOM" "$RANDOM" "$RANDOM" "$RANDOM")"
netns="$prefix-$cid"
netns_path="/run/netns/$netns"
child=""
created=0
wired=0

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup() {
  local status=$?
  # A second Ctrl-C must not cut the clean-up short.
  trap '' INT TERM HUP
  if [ "$wired" -eq 1 ]; then
    if ! "$exec_plugins" del "$cid" "$netns_path" >/dev/null; then
      echo "priv-net-run: removing the networks of $netns failed (see above)" >&2
      [ "$status" -ne 0 ] || status=1
    fi
  fi
  if [ "$created" -eq 1 ] && [ -e "$netns_path" ] && ! ip netns delete "$netns"; then
    echo "priv-net-run: could not delete netns $netns" >&2
    [ "$status" -ne 0 ] || status=1
  fi
  exit "$status"
}

# bash runs a trap only after a foreground child ends; COMMAND runs in the background and we `wait`,
# which a trapped signal interrupts at once, so the signal reaches COMMAND and the clean-up runs.
# shellcheck disable=SC2317 # run by the signal traps
on_signal() {
  local signal="$1" code="$2"
  if [ -n "$child" ]; then
    kill -s "$signal" "$child" 2>/dev/null || true
    wait "$child" 2>/dev/null || true
  fi
  exit "$code"
}

trap cleanup EXIT
trap 'on_signal INT 130' INT
trap 'on_signal TERM 143' TERM
trap 'on_signal HUP 129' HUP

# Never take over (and later delete) a netns that exists already.
if [ -e "$netns_path" ]; then
  echo "priv-net-run: netns $netns exists already" >&2
  exit 1
fi
created=1
ip netns add "$netns"
ip -n "$netns" link set lo up
# From here on, the clean-up runs del too (also after a half-done add: DEL is idempotent).
wired=1
"$exec_plugins" add "$cid" "$netns_path" >/dev/null

# A background command ignores SIGINT/SIGQUIT in a script and reads /dev/null: undo both, so it
# behaves as in the foreground (Ctrl-C, interactive input).
(
  trap - INT QUIT
  exec ip netns exec "$netns" "$@"
) <&0 &
child=$!
status=0
wait "$child" || status=$?
child=""
exit "$status"
