#!/usr/bin/env bash
# Installs the Debian packages that coord's build and tests need, only those
# that are missing, quietly. Safe to run again; a no-op once all are present.
set -euo pipefail

packages=(
	build-essential cmake pkg-config git ca-certificates
	libmicrohttpd-dev libsqlite3-dev libjansson-dev libcmocka-dev
	libuv1-dev libcurl4-openssl-dev libgnutls28-dev scdoc
	libzookeeper-mt-dev # coord-bench's ZooKeeper target (clients/bench/zk.c)
	clang libclang-rt-14-dev
	python3 curl jq iproute2 procps iptables openssl
	chromium chromium-driver # the status page's test (tests/cluster/test_ui.py)
	debhelper dpkg-dev lintian man-db # the Debian packages (scripts/package/build-deb.sh)
)

missing=()
for p in "${packages[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
		missing+=("$p")
	fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
