#!/bin/sh
# Waits until the election has a leader and prints its value (say, the
# address to connect to). Long-polls, so it answers as soon as one is elected.
# Only curl and jq.
#
#   addr=$(COORD=http://10.0.0.1:7070 wait-for-leader.sh svc/primary)
set -eu
COORD=${COORD:-http://127.0.0.1:7070}
name=$1

index=0
while :; do
	# Answers when the election's modify_index passes INDEX, or after 30 s.
	answer=$(curl -sf "$COORD/v1/elections/$name?index=$index&wait=30s") || {
		sleep 1 # a failover, or the cluster is down: try again
		continue
	}
	value=$(printf '%s\n' "$answer" | jq -r '.leader.value // empty')
	if [ -n "$value" ]; then
		printf '%s\n' "$value"
		exit 0
	fi
	index=$(printf '%s\n' "$answer" | jq -r .modify_index)
done
