#!/usr/bin/env bash
# Installs what is missing, builds, and runs a local 3-node coord cluster on
# 127.0.0.1 in the foreground. Ctrl-C (or SIGTERM) stops every node cleanly.
#   node N: HTTP 127.0.0.1:707N, Raft 127.0.0.1:717N, data in .cluster/nN
# Usage: scripts/cluster.sh [--nodes 3|5] [--fresh]
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=3 fresh=0
while [ $# -gt 0 ]; do
	case $1 in
	--nodes) nodes=$2; shift 2 ;;
	--fresh) fresh=1; shift ;;
	*) echo "usage: scripts/cluster.sh [--nodes N] [--fresh]" >&2; exit 2 ;;
	esac
done
bash scripts/build.sh

coordd=build/coord/coordd

[ "$fresh" -eq 1 ] && rm -rf .cluster
mkdir -p .cluster
members=""
for i in $(seq 1 "$nodes"); do
	members="${members:+$members,}$i=127.0.0.1:$((7170 + i))"
done

pids=()
stop() {
	trap - INT TERM
	echo "stopping ${#pids[@]} nodes" >&2
	kill -TERM "${pids[@]}" 2>/dev/null || true
	wait "${pids[@]}" 2>/dev/null || true
	exit 0
}
trap stop INT TERM

for i in $(seq 1 "$nodes"); do
	"$coordd" --id "$i" --data ".cluster/n$i" --http "127.0.0.1:$((7070 + i))" \
		--raft "127.0.0.1:$((7170 + i))" --cluster "$members" \
		2> >(sed -u "s/^/[n$i] /" >&2) &
	pids+=($!)
done

echo "coord: $nodes nodes running (Ctrl-C stops them)"
for i in $(seq 1 "$nodes"); do
	echo "  node $i: http://127.0.0.1:$((7070 + i))"
done
echo "try:  curl -s 'http://127.0.0.1:7071/v1/status?pretty'"
wait -n "${pids[@]}" || true
echo "a node exited; stopping the others" >&2
stop
