#!/usr/bin/env bash
# Installs what is missing, builds, and runs a local coord cluster on
# 127.0.0.1 in the foreground. Ctrl-C (or SIGTERM) stops every node cleanly.
#   node N: HTTP 127.0.0.1:707N, Raft 127.0.0.1:717N, data in .cluster/nN
# Usage: scripts/cluster.sh [--nodes 3|5] [--fresh] [--tls] [--auth] [--dir DIR]
#                           [--port-base P]
#   --tls        HTTPS with client certificates, and mutual TLS between the
#                nodes, with certificates made for it (openssl) in DIR/tls
#   --auth       access control on from the start: an admin token made for
#                it in DIR/admin.token (coordd --bootstrap-token-file)
#   --dir        where the data folders go (default .cluster)
#   --port-base  HTTP on P+N, Raft on P+100+N (default 7070)
# With $COORDD set, that binary runs and nothing is built.
set -euo pipefail
cd "$(dirname "$0")/.."
nodes=3 fresh=0 tls=0 auth=0 dir=.cluster base=7070
usage() {
	echo "usage: scripts/cluster.sh [--nodes N] [--fresh] [--tls] [--auth] [--dir DIR]" \
		"[--port-base P]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	case $1 in
	--nodes) nodes=$2; shift 2 ;;
	--fresh) fresh=1; shift ;;
	--tls) tls=1; shift ;;
	--auth) auth=1; shift ;;
	--dir) dir=$2; shift 2 ;;
	--port-base) base=$2; shift 2 ;;
	*) usage ;;
	esac
done
if [ -n "${COORDD:-}" ]; then
	coordd=$COORDD
else
	bash scripts/build.sh
	coordd=build/coord/coordd
fi

[ "$fresh" -eq 1 ] && rm -rf "$dir"
mkdir -p "$dir"
members=""
for i in $(seq 1 "$nodes"); do
	members="${members:+$members,}$i=127.0.0.1:$((base + 100 + i))"
done

# One CA for the local cluster: it signs the nodes' certificate (HTTPS and
# peers, for 127.0.0.1) and a client certificate for curl and coordctl.
tls_args=()
if [ "$tls" -eq 1 ]; then
	t=$dir/tls
	if [ ! -f "$t/client.pem" ]; then
		mkdir -p "$t"
		key() { echo -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout "$t/$1.key"; }
		openssl req -x509 $(key ca) -out "$t/ca.pem" -days 3650 \
			-subj "/CN=coord local CA" 2>/dev/null
		for leaf in node client; do
			openssl req $(key $leaf) -out "$t/$leaf.csr" -subj "/CN=coord $leaf" 2>/dev/null
			printf 'subjectAltName=IP:127.0.0.1\n' > "$t/$leaf.ext"
			openssl x509 -req -in "$t/$leaf.csr" -CA "$t/ca.pem" -CAkey "$t/ca.key" \
				-CAcreateserial -out "$t/$leaf.pem" -days 3650 -extfile "$t/$leaf.ext" 2>/dev/null
			rm -f "$t/$leaf.csr" "$t/$leaf.ext"
		done
	fi
	tls_args=(--tls-cert "$t/node.pem" --tls-key "$t/node.key" --tls-client-ca "$t/ca.pem"
		--peer-cert "$t/node.pem" --peer-key "$t/node.key" --peer-ca "$t/ca.pem")
fi

# The first admin token's secret, chosen here: the first leader bootstraps
# access control with it (the data folders remember it; later runs reuse it).
auth_args=()
if [ "$auth" -eq 1 ]; then
	if [ ! -f "$dir/admin.token" ]; then
		(umask 077 && openssl rand -hex 32 > "$dir/admin.token")
	fi
	auth_args=(--bootstrap-token-file "$dir/admin.token")
fi

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
	"$coordd" --id "$i" --data "$dir/n$i" --http "127.0.0.1:$((base + i))" \
		--raft "127.0.0.1:$((base + 100 + i))" --cluster "$members" "${tls_args[@]}" "${auth_args[@]}" \
		2> >(sed -u "s/^/[n$i] /" >&2) &
	pids+=($!)
done

scheme=http
[ "$tls" -eq 1 ] && scheme=https
echo "coord: $nodes nodes running (Ctrl-C stops them)"
for i in $(seq 1 "$nodes"); do
	echo "  node $i: $scheme://127.0.0.1:$((base + i))"
done
curl_args=""
[ "$tls" -eq 1 ] && curl_args=" --cacert $t/ca.pem --cert $t/client.pem --key $t/client.key"
[ "$auth" -eq 1 ] && curl_args="$curl_args -H \"Authorization: Bearer \$(cat $dir/admin.token)\""
echo "try:  curl -s$curl_args '$scheme://127.0.0.1:$((base + 1))/v1/status?pretty'"
wait -n "${pids[@]}" || true
echo "a node exited; stopping the others" >&2
stop
