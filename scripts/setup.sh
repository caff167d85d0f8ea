#!/usr/bin/env bash
# Installs everything a fresh Debian machine needs to build and test tscni: system packages the
# tests use as independent oracles (ip, nft, iptables, dnsmasq, the Go reference plugins), then the
# npm dependencies (which include the pinned Node 26 runtime). Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'; }
# dbus-daemon: a private bus for the firewall plugin's firewalld tests; golang-go and the two go-cni
# packages: a driver built on containerd's own CNI library (GOPATH mode, offline); conntrack and socat:
# independent oracles and traffic for portmap's tests; jq: the one tool scripts/exec-plugins.sh needs;
# strace: fault injection (link() refused) in the install tests; time (GNU time): CPU and peak RSS per
# call in `npm run bench`; etcd-server and etcd-client: a real 3-member etcd for cluster-ipam and the
# overlay agent's tests; iperf3: cross-node throughput in `npm run bench`.
for p in iproute2 iptables nftables dnsmasq-base containernetworking-plugins iputils-ping strace podman runc busybox-static \
  dbus-daemon golang-go golang-github-containerd-go-cni-dev golang-github-appc-cni-dev conntrack socat kmod jq time \
  etcd-server etcd-client iperf3; do
  have_pkg "$p" || need+=("$p")
done
# openssl: a throwaway CA and certificates for the etcd TLS tests (test/helpers/etcd-tls.ts).
have_pkg openssl || need+=(openssl)
if [ "${#need[@]}" -gt 0 ]; then
  echo "setup: installing ${need[*]}" >&2
  if [ "$(id -u)" -ne 0 ]; then echo "setup: run as root to install ${need[*]}" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${need[@]}" >&2
fi

# npm ci only when node_modules does not match the lockfile (a fresh clone, or a changed lock).
stamp=node_modules/.tscni-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "setup: npm ci" >&2
  npm ci --no-audit --no-fund --loglevel=error >&2
  cp package-lock.json "$stamp"
fi
