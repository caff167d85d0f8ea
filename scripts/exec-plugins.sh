#!/usr/bin/env bash
# exec-plugins.sh add|check|del CONTAINER-ID NETNS-PATH
#
# Attaches a network namespace to (add), checks it against (check), or detaches it from (del) every
# network configuration in $NETCONFPATH, by running the CNI plugins directly: the behaviour of the
# CNI project's script of this name, in our own implementation (needs bash and jq only).
#
# - Configurations: the files *.conf, *.conflist and *.json of $NETCONFPATH (default /etc/cni/net.d),
#   in byte order of their names. The n-th of them (counting from 0) gets interface eth<n>. A file with
#   a "plugins" array is a list (whatever its extension): its plugins run in order for add/check, in
#   reverse for del, each given the list's name and cniVersion, and on add the previous plugin's
#   result as prevResult. Any other file is one plugin's configuration. A list with "disabled": true
#   is skipped (and takes no eth<n>). (The original script reads only *.conf files and runs a "plugins" list forward for
#   del too, without a cached result; we follow libcni instead, as runtimes do.)
# - del runs the files in reverse order. For cniVersion 0.4.0 and later, del and check give every
#   plugin the list's add result as prevResult: add keeps each list's final result in
#   $EXEC_PLUGINS_STATE_DIR/<container-id>/ (default /run/cni/exec-plugins), which del removes.
#   del goes on past a failing plugin (so the rest is still released), reports every failure, exits
#   1, and keeps the add results of the networks that failed for a retry.
# - Plugins are found in $CNI_PATH (colon-separated, default /opt/cni/bin), never on $PATH.
#   CNI_ARGS is passed through; CAP_ARGS (a JSON object, as cnitool's) becomes the runtimeConfig of
#   each plugin for the capabilities it declares (e.g. {"portMappings": [...]}).
# - add prints each network's final result (one JSON line per network) on stdout. A failing plugin
#   stops add, names the file, network and plugin with the error code and message, and exits 1;
#   what was added so far stays until `exec-plugins.sh del` (priv-net-run.sh always runs it).
set -euo pipefail
LC_COLLATE=C # glob order is byte order, as libcni sorts file names

usage() {
  sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() {
  printf 'exec-plugins: %s\n' "$*" >&2
  exit 1
}

[ "$#" -eq 3 ] || usage
case "$1" in
  add | ADD) command=ADD ;;
  check | CHECK) command=CHECK ;;
  del | DEL) command=DEL ;;
  *) usage ;;
esac
cid="$2"
netns="$3"
# libcni's rule for container IDs; it also keeps the state path inside the state directory.
[[ "$cid" =~ ^[a-zA-Z0-9][a-zA-Z0-9_.-]*$ ]] || die "invalid container ID '$cid': letters, digits, '_', '.', '-', not starting with a punctuation"
[ -n "$netns" ] || die "empty netns path"

confdir="${NETCONFPATH:-/etc/cni/net.d}"
cni_path="${CNI_PATH:-/opt/cni/bin}"
state="${EXEC_PLUGINS_STATE_DIR:-/run/cni/exec-plugins}/$cid"
no_caps='{}'
cap_args="${CAP_ARGS:-$no_caps}"
jq -e 'type == "object"' >/dev/null 2>&1 <<<"$cap_args" || die "CAP_ARGS is not a JSON object: $cap_args"
[ -d "$confdir" ] || die "no configuration directory $confdir (set NETCONFPATH)"
export CNI_COMMAND="$command" CNI_CONTAINERID="$cid" CNI_NETNS="$netns" CNI_PATH="$cni_path"

# Every configuration file, normalized to {name, cniVersion, disabled, plugins: [...]}.
files=()
networks=()
for file in "$confdir"/*; do
  case "$file" in *.conf | *.conflist | *.json) ;; *) continue ;; esac
  [ -f "$file" ] || continue
  if ! net="$(jq -c '
      if (.plugins | type) == "array" then {name, cniVersion, disabled: (.disabled == true), plugins}
      else {name, cniVersion, disabled: false, plugins: [.]} end' "$file" 2>/dev/null)"; then
    die "$file: not a JSON object"
  fi
  problem="$(jq -r '
      if (.name | type) != "string" or (.name | test("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$") | not) then "invalid network name \(.name | tojson)"
      elif (.cniVersion | type) != "string" then "missing cniVersion"
      elif (.plugins | length) == 0 then "no plugins"
      elif any(.plugins[]; (.type | type) != "string" or (.type | test("^[^/]+$") | not)) then "a plugin has no valid \"type\""
      else empty end' <<<"$net")"
  [ -z "$problem" ] || die "$file: $problem"
  # A disabled list takes no interface name: the next one gets its eth<n>.
  [ "$(jq -r '.disabled' <<<"$net")" = false ] || continue
  files+=("$file")
  networks+=("$net")
done
[ "${#networks[@]}" -gt 0 ] || [ "$command" = DEL ] || die "no network configuration (*.conf, *.conflist, *.json) in $confdir"

# Sets `bin` to the executable named $1 in CNI_PATH.
find_plugin() {
  local dir dirs
  IFS=: read -r -a dirs <<<"$cni_path"
  for dir in "${dirs[@]}"; do
    if [ -n "$dir" ] && [ -f "$dir/$1" ] && [ -x "$dir/$1" ]; then
      bin="$dir/$1"
      return 0
    fi
  done
  return 1
}

# prevResult is part of DEL and CHECK from spec 0.4.0 on.
has_prev_result() {
  case "$1" in 0.1.* | 0.2.* | 0.3.*) return 1 ;; *) return 0 ;; esac
}

# run_plugin FILE NETWORK-JSON PLUGIN-JSON IFNAME PREV-RESULT-JSON: runs one plugin, sets `out`.
# On failure prints what failed and returns 1.
run_plugin() {
  local file="$1" net="$2" plugin="$3" ifname="$4" prev="$5" conf type name status msg
  type="$(jq -r '.type' <<<"$plugin")"
  name="$(jq -r '.name' <<<"$net")"
  if ! find_plugin "$type"; then
    printf 'exec-plugins: %s (network %s): plugin "%s" not found in CNI_PATH %s\n' "$file" "$name" "$type" "$cni_path" >&2
    return 1
  fi
  # The plugin's configuration as libcni builds it: the list's name and cniVersion, prevResult,
  # and runtimeConfig from CAP_ARGS for the capabilities the plugin declares.
  conf="$(jq -c --argjson net "$net" --argjson prev "$prev" --argjson caps "$cap_args" '
      . + {name: $net.name, cniVersion: $net.cniVersion}
      | if $prev != null then .prevResult = $prev else . end
      | (.capabilities // {}) as $declared
      | ($caps | with_entries(select($declared[.key] == true))) as $rc
      | if ($rc | length) > 0 then .runtimeConfig = ((.runtimeConfig // {}) + $rc) else . end' <<<"$plugin")"
  status=0
  out="$(CNI_IFNAME="$ifname" "$bin" <<<"$conf")" || status=$?
  if [ "$status" -ne 0 ]; then
    msg="$(jq -r 'if type == "object" and has("msg") then "error code \(.code): \(.msg)\(if .details then " (\(.details))" else "" end)" else empty end' <<<"$out" 2>/dev/null || true)"
    printf 'exec-plugins: %s (network %s, %s): plugin %s failed: %s\n' "$file" "$name" "$ifname" "$type" "${msg:-exit status $status: $out}" >&2
    return 1
  fi
}

result_file() { printf '%s/%s-%s.json' "$state" "$(jq -r '.name' <<<"$1")" "$2"; }

add_network() {
  local file="$1" net="$2" ifname="$3" prev=null plugin dest
  while IFS= read -r plugin; do
    run_plugin "$file" "$net" "$plugin" "$ifname" "$prev" || exit 1
    if ! prev="$(jq -c . <<<"$out" 2>/dev/null)" || [ -z "$prev" ]; then
      die "$file: plugin $(jq -r '.type' <<<"$plugin") returned no result on ADD: $out"
    fi
  done < <(jq -c '.plugins[]' <<<"$net")
  mkdir -p "$state"
  dest="$(result_file "$net" "$ifname")"
  printf '%s\n' "$prev" >"$dest.tmp.$$"
  mv -f "$dest.tmp.$$" "$dest"
  printf '%s\n' "$prev"
}

check_network() {
  local file="$1" net="$2" ifname="$3" prev plugin cached
  has_prev_result "$(jq -r '.cniVersion' <<<"$net")" || die "$file: cniVersion $(jq -r '.cniVersion' <<<"$net") has no CHECK (0.4.0 and later)"
  cached="$(result_file "$net" "$ifname")"
  [ -f "$cached" ] || die "$file: no result of an earlier add for container $cid ($cached)"
  prev="$(<"$cached")"
  while IFS= read -r plugin; do
    run_plugin "$file" "$net" "$plugin" "$ifname" "$prev" || exit 1
  done < <(jq -c '.plugins[]' <<<"$net")
}

del_failures=0
del_network() {
  local file="$1" net="$2" ifname="$3" prev=null plugin cached
  cached="$(result_file "$net" "$ifname")"
  if [ -f "$cached" ] && has_prev_result "$(jq -r '.cniVersion' <<<"$net")"; then prev="$(<"$cached")"; fi
  local failed=0
  while IFS= read -r plugin; do
    run_plugin "$file" "$net" "$plugin" "$ifname" "$prev" || failed=1
  done < <(jq -c '.plugins | reverse | .[]' <<<"$net")
  if [ "$failed" -eq 0 ]; then rm -f "$cached"; else del_failures=$((del_failures + 1)); fi
}

n="${#networks[@]}"
case "$command" in
  ADD | CHECK)
    for ((i = 0; i < n; i++)); do
      if [ "$command" = ADD ]; then add_network "${files[i]}" "${networks[i]}" "eth$i"; else check_network "${files[i]}" "${networks[i]}" "eth$i"; fi
    done
    ;;
  DEL)
    for ((i = n - 1; i >= 0; i--)); do
      del_network "${files[i]}" "${networks[i]}" "eth$i"
    done
    # Results of the networks whose del failed stay for a retry; an empty directory goes.
    if [ -d "$state" ]; then rmdir "$state" 2>/dev/null || true; fi
    if [ "$del_failures" -gt 0 ]; then
      die "del failed for $del_failures network(s) of container $cid (their add results, if any, are kept in $state for a retry)"
    fi
    ;;
esac
