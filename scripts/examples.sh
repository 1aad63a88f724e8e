#!/usr/bin/env bash
# Runs every example exactly as its Caddyfile header says: the header's `#   $ ` lines are
# the commands, run by bash from a copy of the example's folder with the built binary as
# `caddy` on PATH. Only the ports are changed (to free ones, so that a gateway running by
# hand does not collide) and Caddy's data and config directories point into the copy.
# Each example must then answer a chat completion with 200: with the key its commands
# created (`caddy llmguard key new` prints it), and for mtls with the client certificate
# its make-certs.sh wrote. A Redis server is started for examples that use one.
#
# The integration tests check each example's behaviour in depth; this checks that the
# commands a newcomer copies from the header work as written. The quickstart is run by
# scripts/smoke.sh the way the README runs it.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$(realpath "${1:-bin/caddy}")
. scripts/lib.sh

# mask hides gateway keys in what is printed.
mask() { sed -E 's/sk-llmg-[A-Za-z0-9_-]+/sk-llmg-<redacted>/g'; }

pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
}
trap cleanup EXIT

# The quickstart's demo key (published in the README, for local use only) and its hash.
demo_key=sk-llmg-DemoKeyForLocalUseOnlyNeverDeployThis0000002fy1Rf
demo_hash=8aec5d93ca41e708fd462b48a67e350c490402ddea0b93676631be024ce9b16a

shim=$(mktemp -d)
ln -s "$bin" "$shim/caddy"

run_example() {
	local name=$1 dir work cmds gw admin port np scheme key pid code
	dir=examples/$name
	work=$(mktemp -d)
	cp -r "$dir/." "$work/"
	cmds=$(sed -n 's/^#   \$ //p' "$work/Caddyfile")
	[ -n "$cmds" ] || { echo "examples: $dir/Caddyfile has no '#   \$ <command>' run line" >&2; return 1; }

	# Every loopback port the example names moves to a free one.
	declare -A ports=()
	for port in $(grep -oE 'localhost:[0-9]+' "$work/Caddyfile" | cut -d: -f2 | sort -u); do
		np=$(freeport)
		ports[$port]=$np
		sed -i "s/localhost:$port\b/localhost:$np/g" "$work/Caddyfile"
	done
	admin=${ports[2019]:?}
	if [ -n "${ports[6379]:-}" ]; then
		redis-server --port "${ports[6379]}" --bind 127.0.0.1 --save '' --appendonly no >"$work/redis.log" 2>&1 &
		pids+=($!)
	fi
	if [ -n "${ports[8443]:-}" ]; then scheme=https gw=${ports[8443]}; else scheme=http gw=${ports[8080]:?}; fi

	(cd "$work" && PATH="$shim:$PATH" XDG_DATA_HOME="$work/.data" XDG_CONFIG_HOME="$work/.config" \
		exec bash -euo pipefail -c "$cmds") >"$work/log" 2>&1 &
	pid=$!
	pids+=($pid)
	fail() {
		echo "examples/$name: $*" >&2
		echo "--- its commands:" >&2
		echo "$cmds" >&2
		echo "--- their output:" >&2
		mask <"$work/log" >&2
		return 1
	}
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || { fail "exited before serving"; return 1; }
		curl -sk -o /dev/null "$scheme://localhost:$gw/" && break
		sleep 0.2
	done

	local args=(-sk -o "$work/reply" -w '%{http_code}' "$scheme://localhost:$gw/v1/chat/completions"
		-H 'Content-Type: application/json' -H 'X-LLM-Purpose: support'
		-d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}')
	key=$(grep -oE 'sk-llmg-[A-Za-z0-9_-]+' "$work/log" | head -n 1 || true)
	# Examples without a key of their own accept the quickstart's published demo key.
	if [ -z "$key" ] && grep -q "sha256:$demo_hash" "$work/Caddyfile"; then key=$demo_key; fi
	[ -z "$key" ] || args+=(-H "Authorization: Bearer $key")
	[ "$scheme" = http ] || args+=(--cert "$work/svc-chat.crt" --key "$work/svc-chat.key")
	code=$(curl "${args[@]}") || true
	[ "$code" = 200 ] && grep -q '"choices"' "$work/reply" ||
		{ fail "chat completion answered $code: $(mask <"$work/reply")"; return 1; }

	curl -s -X POST "localhost:$admin/stop" >/dev/null || true
	wait "$pid" 2>/dev/null || true
	echo "examples/$name runs as its header says"
	rm -rf "$work"
}

status=0
for dir in examples/*/; do
	name=$(basename "$dir")
	[ -f "$dir/Caddyfile" ] || continue
	[ "$name" = quickstart ] && continue
	run_example "$name" || status=1
done
exit $status
