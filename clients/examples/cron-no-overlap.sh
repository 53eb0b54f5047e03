#!/bin/sh
# A cron job that must never run twice at once, on any machine: take the lock
# with a try-lock and skip this run if someone else holds it. Only curl and jq.
#
#   COORD=http://10.0.0.1:7070 cron-no-overlap.sh jobs/backup /usr/local/bin/backup
#
# The job gets the fencing token in $COORD_FENCING_TOKEN to pass on to what it
# writes to (GET /v1/fence?lock=NAME&token=N). A shell loop cannot stop the
# job in time if keepalives fail; `coordctl lock NAME -- CMD` can, prefer it.
set -eu
COORD=${COORD:-http://127.0.0.1:7070}
TTL_MS=${TTL_MS:-30000}
name=$1
shift

sid=$(curl -sf -X POST "$COORD/v1/sessions" -d "{\"ttl_ms\":$TTL_MS,\"name\":\"cron $name\"}" |
	jq -r .id)
# Closing the session releases the lock, whatever happens below.
trap 'curl -s -X DELETE "$COORD/v1/sessions/$sid" >/dev/null' EXIT

# wait_ms 0: a try-lock. 200 with the grant, 409 lock_held if it is taken.
answer=$(curl -s -w '\n%{http_code}' -X PUT "$COORD/v1/locks/$name" \
	-d "{\"session\":\"$sid\",\"wait_ms\":0}")
code=$(printf '%s\n' "$answer" | tail -n 1)
if [ "$code" != 200 ]; then
	echo "skipped: $name is held elsewhere ($(printf '%s\n' "$answer" | sed '$d' | jq -r .error))" >&2
	exit 0
fi
COORD_FENCING_TOKEN=$(printf '%s\n' "$answer" | sed '$d' | jq -r .fencing_token)
export COORD_FENCING_TOKEN

# Keep the session alive every third of its TTL while the job runs.
(while sleep $((TTL_MS / 3000)); do
	curl -sf -X POST "$COORD/v1/sessions/$sid/keepalive" >/dev/null || exit 0
done) &
keeper=$!

status=0
"$@" || status=$?
kill "$keeper"
exit "$status"
