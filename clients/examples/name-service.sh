#!/bin/bash
# A name service with coordctl and jq. Each instance of a service registers
# services/web/N with its address for as long as it runs: `coordctl
# register` makes the key an ephemeral key of the instance's session, so it
# goes when the instance stops, and when its host dies (the session then
# expires). A client watches the prefix and prints the live set after each
# change. Against the local cluster of scripts/cluster.sh:
#
#   export COORD_ENDPOINTS=http://127.0.0.1:7071,http://127.0.0.1:7072,http://127.0.0.1:7073
#   name-service.sh serve 1 10.0.0.1:8080 ./web --port 8080   # one per instance
#   name-service.sh watch                                      # a line per change, until Ctrl-C
#   name-service.sh demo                                       # three instances come and go
#
# watch prints "now: SET" at once, then "put KEY: SET" or "delete KEY: SET"
# after each change, SET being the live KEY=ADDRESS pairs in key order
# ("(none)" when empty), and "resync: SET" when it had to list the prefix
# again. $COORDCTL is the coordctl to run, $PREFIX the prefix (services/web/).
set -euo pipefail
COORDCTL=${COORDCTL:-coordctl}
PREFIX=${PREFIX:-services/web/}

usage() {
	echo "usage: $0 serve N ADDRESS [CMD [ARG...]] | watch | demo" >&2
	exit 64
}

# The live set of a listing ({"keys":[...]} on stdin) on one line.
live_set() {
	jq -r '[.keys[] | "\(.key)=\(.value)"] | if length == 0 then "(none)" else join(" ") end'
}

# serve N ADDRESS [CMD...]: runs CMD (default: until killed) registered as
# PREFIX/N = ADDRESS; coordctl stops CMD if the registration is lost.
serve() {
	[ $# -ge 2 ] || usage
	local n=$1 address=$2
	shift 2
	[ $# -gt 0 ] || set -- sleep infinity
	exec "$COORDCTL" register "$PREFIX$n" "$address" -- "$@"
}

# The process to end when this shell exits (the traps outlive the
# functions that set them, so these are not local).
watch_pid=
demo_watcher=

# watch: the live set now, then after each change.
watch() {
	local listing index line what
	listing=$("$COORDCTL" kv ls --prefix "$PREFIX")
	index=$(jq .index <<<"$listing")
	echo "now: $(live_set <<<"$listing")"
	# From the listing's index, so no change after it is missed.
	exec {changes}< <(exec "$COORDCTL" kv watch "$PREFIX" --index "$index")
	watch_pid=$!
	trap 'kill "$watch_pid" 2>/dev/null || true' EXIT
	trap 'exit 143' TERM
	trap 'exit 130' INT
	while read -r -u "$changes" line; do
		what=$(jq -r 'if .resync then "resync" else "\(.change) \(.key)" end' <<<"$line")
		echo "$what: $("$COORDCTL" kv ls --prefix "$PREFIX" | live_set)"
	done
	wait "$watch_pid" # the watch ended: say how
}

# demo: a watcher, and three instances that start half a second apart and
# stop in the reverse order a few seconds later.
demo() {
	local pids=() n
	watch &
	demo_watcher=$!
	trap 'kill "$demo_watcher" 2>/dev/null || true' EXIT
	sleep 1
	for n in 1 2 3; do
		serve "$n" "127.0.0.1:808$n" sleep $((7 - n)) &
		pids+=($!)
		sleep 0.5
	done
	wait "${pids[@]}"
	sleep 1 # for the watcher to print the last change
	kill "$demo_watcher"
	wait "$demo_watcher" 2>/dev/null || true
}

case ${1:-} in
serve) shift && serve "$@" ;;
watch) watch ;;
demo) demo ;;
*) usage ;;
esac
