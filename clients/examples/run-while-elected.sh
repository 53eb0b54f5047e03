#!/bin/sh
# shellcheck disable=SC2317  # cleanup and lost are called from traps
# A service that runs only while it is the elected leader: campaign, start the
# service once elected, and stop it as soon as a keepalive fails (the session,
# and with it the leadership, may be gone). Only curl and jq.
#
#   COORD=http://10.0.0.1:7070 run-while-elected.sh svc/primary "$(hostname):5432" ./primary
#
# Exits with the service's status, or 76 when the leadership was lost. The
# keepalive loop notices trouble only at its next tick; `coordctl elect`
# stops the service before the lease can lapse, prefer it.
set -eu
COORD=${COORD:-http://127.0.0.1:7070}
TTL_MS=${TTL_MS:-6000}
name=$1
value=$2
shift 2

sid=$(curl -sf -X POST "$COORD/v1/sessions" -d "{\"ttl_ms\":$TTL_MS}" | jq -r .id)
svc=
keeper=
cleanup() {
	if [ -n "$keeper" ]; then kill "$keeper" 2>/dev/null || true; fi
	# Resign (so a successor is elected at once), then close the session.
	curl -s -X DELETE "$COORD/v1/elections/$name" -d "{\"session\":\"$sid\"}" >/dev/null
	curl -s -X DELETE "$COORD/v1/sessions/$sid" >/dev/null
}
lost() {
	echo "leadership of $name lost: stopping the service" >&2
	if [ -n "$svc" ]; then kill -TERM "$svc" 2>/dev/null || true; fi
	trap - EXIT
	cleanup
	exit 76
}
trap cleanup EXIT
trap lost USR1

# Keepalives from the start: the campaign itself may wait long.
parent=$$
(while sleep "$(awk "BEGIN{print $TTL_MS/3000}")"; do
	curl -sf -m 1 -X POST "$COORD/v1/sessions/$sid/keepalive" >/dev/null ||
		{ kill -USR1 "$parent"; exit 0; }
done) &
keeper=$!

# Campaign in rounds of 5 s (409 means "not yet": campaign again).
while :; do
	code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$COORD/v1/elections/$name" \
		-d "{\"session\":\"$sid\",\"value\":\"$value\",\"wait_ms\":5000}")
	[ "$code" = 200 ] && break
	[ "$code" = 409 ] || { echo "campaign failed: HTTP $code" >&2; exit 1; }
done

"$@" &
svc=$!
status=0
wait "$svc" || status=$?
exit "$status"
