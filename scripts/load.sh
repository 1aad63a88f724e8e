#!/usr/bin/env bash
# Load harness: what each llm_* handler, and the whole guard, costs next to plain
# reverse_proxy, measured side by side in one run. Not part of the tests.
#
#   scripts/load.sh [-r rounds] [-d seconds] [-c connections] [-s sizes] [-p profile-prefix]
#
# One Caddy (bin/caddy, built from xcaddy.json if missing) serves an llm_mock upstream and
# one site per configuration: plain reverse_proxy; each handler alone in front of it
# (llm_auth with an API key, llm_inspect with the default detectors, llm_rate_limit with
# a memory store, llm_filter, llm_audit at privacy hash with the HMAC chain); and the full
# guard (all five). cmd/loadgen drives each site with keep-alive connections, the sites in
# a different order every round (A/B alternation, so that a noisy neighbour hits all of
# them alike); the table gives each site's median throughput and its median ratio to plain
# within a round. Gateway, upstream and load generator share this machine's cores:
# compare ratios, not absolute numbers. With -p, after the rounds, a CPU and an allocation
# profile of the full guard under load are written to <prefix>-<size>.cpu / .allocs
# (`go tool pprof -top bin/caddy <file>`).
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
rounds=5 secs=4 conns=32 sizes="1024 32768" profile=
while getopts r:d:c:s:p: o; do
	case $o in
	r) rounds=$OPTARG ;;
	d) secs=$OPTARG ;;
	c) conns=$OPTARG ;;
	s) sizes=$OPTARG ;;
	p) profile=$OPTARG ;;
	*) exit 2 ;;
	esac
done
export CGO_ENABLED=0
[ -x bin/caddy ] || go run ./cmd/xbuild -config xcaddy.json -o bin/caddy >/dev/null
work=$(mktemp -d)
go build -o "$work/loadgen" ./cmd/loadgen

# The quickstart's demo key (README): a real key check, without a secret of ours.
key=sk-llmg-DemoKeyForLocalUseOnlyNeverDeployThis0000002fy1Rf
hash=sha256:8aec5d93ca41e708fd462b48a67e350c490402ddea0b93676631be024ce9b16a
sites=(plain auth inspect ratelimit filter audit full)
declare -A port
for s in "${sites[@]}" upstream admin; do port[$s]=$(freeport); done

auth="llm_auth {
		api_keys {
			key load $hash
		}
	}"
inspect="llm_inspect"
ratelimit="llm_rate_limit {
		rule load_rpm {
			requests 1000000000 1m
		}
	}"
filter="llm_filter"
audit="llm_audit {
		privacy hash
		hash_key {env.LOAD_HASH_KEY}
	}"
site() { # name, handlers…
	local name=$1
	shift
	printf 'http://localhost:%s {\n' "${port[$name]}"
	for h in "$@"; do printf '\t%s\n' "$h"; done
	printf '\treverse_proxy localhost:%s\n}\n' "${port[upstream]}"
}
{
	cat <<EOF
{
	admin localhost:${port[admin]}
	default_bind 127.0.0.1
	log default {
		exclude http.handlers.llm_audit
		level ERROR
	}
	log audit {
		include http.handlers.llm_audit
		format json
		output llm_audit_chain {
			hmac_key {env.LOAD_HMAC_KEY}
			output discard
		}
	}
}
http://localhost:${port[upstream]} {
	llm_mock
}
EOF
	site plain
	site auth "$auth"
	site inspect "$inspect"
	site ratelimit "$ratelimit"
	site filter "$filter"
	site audit "$audit"
	site full "$audit" "$auth" "$inspect" "$ratelimit" "$filter"
} >"$work/Caddyfile"

export LOAD_HASH_KEY=load-harness-hash-key-0123456789 LOAD_HMAC_KEY=load-harness-chain-key-0123456789
bin/caddy run --config "$work/Caddyfile" >"$work/caddy.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 100); do
	curl -s -o /dev/null "localhost:${port[plain]}" && break
	sleep 0.2
done

# A chat request of about n bytes: one user message of prose (no PII, no secret, nothing
# injection-like, so that every configuration forwards it).
body() {
	local n=$1 text
	text=$(awk -v n="$n" 'BEGIN { s = "The quarterly report covers revenue, costs and the hiring plan for next year. "
		while (length(t) < n) t = t s; print substr(t, 1, n) }')
	printf '{"model":"gpt-4o-mini","max_tokens":64,"messages":[{"role":"user","content":"Summarise: %s"}]}' "$text"
}

echo "machine: $(nproc) cores, $(uptime | sed 's/.*load average/load average/')"
echo "rounds $rounds × ${secs}s per site, $conns connections"
for size in $sizes; do
	body "$size" >"$work/body.json"
	declare -A rps=() ratio=()
	for r in $(seq "$rounds"); do
		# Rotate the order each round.
		order=("${sites[@]:$((r % ${#sites[@]}))}" "${sites[@]:0:$((r % ${#sites[@]}))}")
		declare -A this=()
		for s in "${order[@]}"; do
			out=$("$work/loadgen" -url "http://localhost:${port[$s]}/v1/chat/completions" -body "$work/body.json" \
				-c "$conns" -d "${secs}s" -H "Authorization: Bearer $key")
			errs=$(sed -E 's/.*"errors":([0-9]+).*/\1/' <<<"$out")
			[ "$errs" = 0 ] || { echo "site $s: $errs failed requests: $out" >&2; grep -v '"level":"info"' "$work/caddy.log" | tail -5 >&2; exit 1; }
			this[$s]=$(sed -E 's/.*"rps":([0-9.]+).*/\1/' <<<"$out")
		done
		for s in "${sites[@]}"; do
			rps[$s]+="${this[$s]} "
			ratio[$s]+="$(awk -v a="${this[$s]}" -v b="${this[plain]}" 'BEGIN{printf "%.3f", a/b}') "
		done
	done
	median() { tr ' ' '\n' | grep . | sort -g | awk '{v[NR]=$1} END{print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
	printf '\n%s-byte chat requests\n| site | median req/s | median ratio to plain | ratios per round |\n|---|---|---|---|\n' "$(wc -c <"$work/body.json")"
	for s in "${sites[@]}"; do
		printf '| %s | %.0f | %.2f | %s|\n' "$s" "$(median <<<"${rps[$s]}")" "$(median <<<"${ratio[$s]}")" "${ratio[$s]}"
	done
	unset rps ratio
	if [ -n "$profile" ]; then
		"$work/loadgen" -url "http://localhost:${port[full]}/v1/chat/completions" -body "$work/body.json" \
			-c "$conns" -d "$((secs + 2))s" -H "Authorization: Bearer $key" >/dev/null &
		curl -s -o "$profile-$size.cpu" "localhost:${port[admin]}/debug/pprof/profile?seconds=$secs"
		curl -s -o "$profile-$size.allocs" "localhost:${port[admin]}/debug/pprof/allocs"
		wait $!
		echo "profiles of the full guard: $profile-$size.cpu, $profile-$size.allocs"
	fi
done
