#!/usr/bin/env bash
# Load harness (issue #16): builds the gateway, starts an llm_mock upstream in its own
# process and one gateway with a site per configuration — plain reverse_proxy, each llm_*
# handler alone, the full guard — and runs cmd/llmload against them, alternating the
# sites round by round in one run. Prints req/s, p50/p99 and the ratio to plain at 1 KB
# and 32 KB, the time to first token of a paced stream, and the heap per held stream.
# Not part of the test command; takes a few minutes on 2 cores.
#
#   scripts/load.sh                     # defaults below
#   ROUNDS=3 DUR=2s CONNS=32 HOLD=1000 scripts/load.sh
#   SIZES=none TTFT_N=20 scripts/load.sh  # only the stream measurements (heap profiles of
#                                       # the held streams in bench/*.heap.pprof)
#   CADDY=/tmp/old/caddy scripts/load.sh  # another gateway binary, same upstream
#   PROFILE=full scripts/load.sh        # also writes CPU and alloc profiles of the gateway
#                                       # while the named site is loaded (bench/*.pprof)
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
ROUNDS=${ROUNDS:-5} DUR=${DUR:-3s} CONNS=${CONNS:-32} HOLD=${HOLD:-1000} TTFT_N=${TTFT_N:-200}
SIZES=${SIZES:-1024,32768} PROFILE=${PROFILE:-}

mkdir -p bin bench
# CADDY=path runs that gateway binary instead of this tree's (e.g. a build of an older
# commit, to compare before and after with the same harness); the upstream mock is
# always this tree's, so that both sides of such a comparison proxy to the same upstream.
go build -o bin/caddy ./cmd/caddy
caddy=${CADDY:-bin/caddy}
go build -o bin/llmload ./cmd/llmload

# freeport sets REPLY to a loopback port nothing listens on and that it has not handed out
# before (the gateway's sites need distinct ports). Not $(freeport): a subshell would
# forget the ports handed out. The ports are taken below the kernel's ephemeral range:
# the load generator opens connections from that range, and a site port drawn from it
# could be taken by one of them before Caddy binds it.
used=" "
read -r eph_lo _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || eph_lo=32768
freeport() {
	local p
	while :; do
		p=$((10000 + RANDOM % (eph_lo - 10000)))
		case $used in *" $p "*) continue ;; esac
		(exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null || { used+="$p "; REPLY=$p; return; }
	done
}
dir=$(mktemp -d)
freeport; up=$REPLY
freeport; upadmin=$REPLY
freeport; admin=$REPLY
declare -A port
sites=(plain auth inspect ratelimit filter audit full plain_stream full_stream plain_hold full_hold)
for s in "${sites[@]}"; do
	freeport
	port[$s]=$REPLY
done

# The demo key of examples/quickstart (published; for local use only).
key=sk-llmg-DemoKeyForLocalUseOnlyNeverDeployThis0000002fy1Rf
keyhash=sha256:8aec5d93ca41e708fd462b48a67e350c490402ddea0b93676631be024ce9b16a
reply=$(printf 'The quarterly report shows steady growth in every region while costs stayed flat. %.0s' $(seq 10))

cat >"$dir/upstream.caddyfile" <<EOF
{
	admin 127.0.0.1:$upadmin
	default_bind 127.0.0.1
	log default {
		level ERROR
	}
}
http://127.0.0.1:$up {
	handle /paced/* {
		uri strip_prefix /paced
		llm_mock {
			reply "$reply"
			chunk_size 4
			chunk_delay 2ms
		}
	}
	handle /slow/* {
		uri strip_prefix /slow
		llm_mock {
			reply "$reply"
			chunk_size 4
			chunk_delay 100ms
		}
	}
	llm_mock {
		reply "$reply"
	}
}
EOF

auth="llm_auth {
		api_keys {
			key bench $keyhash
		}
	}"
inspect="llm_inspect"
ratelimit="llm_rate_limit {
		rule rpm {
			requests 1000000000 1m
		}
	}"
filter="llm_filter"
audit="llm_audit {
		privacy hash
		hash_key 0123456789abcdef0123456789abcdef
	}"
full="$audit
	$auth
	$inspect
	$ratelimit
	$filter"
site() { # name, handlers, upstream path prefix
	printf 'http://127.0.0.1:%s {\n\t%s\n\treverse_proxy 127.0.0.1:%s {\n\t\trewrite %s{uri}\n\t}\n}\n' \
		"${port[$1]}" "$2" "$up" "$3"
}
{
	cat <<EOF
{
	admin 127.0.0.1:$admin
	default_bind 127.0.0.1
	log default {
		exclude http.handlers.llm_audit
		level ERROR
	}
	log llm_audit {
		include http.handlers.llm_audit
		format json
		output llm_audit_chain {
			hmac_key 0123456789abcdef0123456789abcdef
			output file $dir/audit.log
		}
	}
}
EOF
	site plain "" ""
	site auth "$auth" ""
	site inspect "$inspect" ""
	site ratelimit "$ratelimit" ""
	site filter "$filter" ""
	site audit "$audit" ""
	site full "$full" ""
	site plain_stream "" /paced
	site full_stream "$full" /paced
	site plain_hold "" /slow
	site full_hold "$full" /slow
} >"$dir/gateway.caddyfile"

bin/caddy run --config "$dir/upstream.caddyfile" >"$dir/upstream.log" 2>&1 &
uppid=$!
"$caddy" run --config "$dir/gateway.caddyfile" >"$dir/gateway.log" 2>&1 &
gwpid=$!
trap 'kill $gwpid $uppid 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
	curl -s -o /dev/null "127.0.0.1:${port[full]}" && curl -s -o /dev/null "127.0.0.1:$up" && break
	sleep 0.2
done
for p in $gwpid $uppid; do
	kill -0 "$p" 2>/dev/null || { echo "load: a Caddy process did not start:" >&2; cat "$dir"/*.log >&2; exit 1; }
done

u() { echo "http://127.0.0.1:${port[$1]}/v1/chat/completions"; }
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load average $(cut -d' ' -f1-3 /proc/loadavg); go $(go env GOVERSION)"
if [ -n "$PROFILE" ]; then
	# Profile the gateway while only the named site is loaded.
	bin/llmload -sites "$PROFILE=$(u "$PROFILE")" -sizes "${SIZES%%,*}" -c "$CONNS" -d 25s -rounds 1 -key "$key" >/dev/null &
	lpid=$!
	sleep 2
	# CPU seconds each process spends during the profile: on shared cores the load
	# generator and the upstream compete with the gateway, so say how much is whose.
	cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
	c0=("$(cpu $gwpid)" "$(cpu $uppid)" "$(cpu $lpid)")
	curl -s -o "bench/$PROFILE.cpu.pprof" "http://127.0.0.1:$admin/debug/pprof/profile?seconds=15"
	c1=("$(cpu $gwpid)" "$(cpu $uppid)" "$(cpu $lpid)")
	tck=$(getconf CLK_TCK)
	echo "CPU seconds in the 15 s profile: gateway $(((c1[0] - c0[0]) * 10 / tck))/10, upstream $(((c1[1] - c0[1]) * 10 / tck))/10, llmload $(((c1[2] - c0[2]) * 10 / tck))/10"
	curl -s -o "bench/$PROFILE.allocs.pprof" "http://127.0.0.1:$admin/debug/pprof/allocs"
	wait $lpid
	echo "profiles: bench/$PROFILE.cpu.pprof bench/$PROFILE.allocs.pprof (go tool pprof -top bin/caddy FILE)"
	exit 0
fi
list=""
for s in plain auth inspect ratelimit filter audit full; do list+="$s=$(u $s),"; done
[ "$SIZES" = none ] && list="" # SIZES=none: only the stream measurements
bin/llmload -sites "${list%,}" -sizes "$SIZES" -c "$CONNS" -d "$DUR" -rounds "$ROUNDS" -key "$key" \
	-gateway-pid "$gwpid" -clk-tck "$(getconf CLK_TCK)" \
	-ttft "plain=$(u plain_stream),full=$(u full_stream)" -ttft-n "$TTFT_N" \
	-hold "plain=$(u plain_hold)=http://127.0.0.1:$admin,full=$(u full_hold)=http://127.0.0.1:$admin" -hold-n "$HOLD" -hold-profile bench
if grep -q '"level":"error"' "$dir/gateway.log"; then
	echo "gateway errors (first 5):"
	grep '"level":"error"' "$dir/gateway.log" | head -5 | cut -c1-300
fi
