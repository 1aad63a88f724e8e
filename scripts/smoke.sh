#!/usr/bin/env bash
# Smoke test of a built gateway binary with the quickstart config, exactly as the README
# runs it: start, send the README's curl requests, check the answers, stop.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-bin/caddy}
"$bin" list-modules | grep -q '^http.handlers.llm_mock$' || { echo "llm_mock not in $bin" >&2; exit 1; }
"$bin" validate --config examples/quickstart/Caddyfile >/dev/null 2>&1
"$bin" run --config examples/quickstart/Caddyfile >/tmp/llmguard-smoke.log 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do
	curl -s -o /dev/null localhost:8080 && break
	sleep 0.2
done
out=$(curl -s localhost:8080/v1/chat/completions -d '{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}')
echo "$out" | grep -q '"object":"chat.completion"' || { echo "smoke: unexpected reply: $out" >&2; cat /tmp/llmguard-smoke.log >&2; exit 1; }
out=$(curl -sN localhost:8080/v1/chat/completions -d '{"model":"gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"hi"}]}')
echo "$out" | tail -n 2 | grep -q '^data: \[DONE\]' || { echo "smoke: stream did not end with [DONE]: $out" >&2; exit 1; }
echo "smoke test of $bin passed"
