#!/usr/bin/env bash
# The project's whole test suite (README command 2): vet, unit and fuzz-seed tests,
# Caddyfile golden tests, integration tests through a real in-process Caddy with the
# official SDKs, and the reference build from xcaddy.json with a smoke test of the binary.
# Any failing or skipped test fails the run: a skipped integration test is a broken harness.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 # xcaddy builds with cgo off; sharing the setting shares the build cache

if [ ! -d ../shared/data ]; then
	echo "test data missing: expected ../shared/data beside the repository" >&2
	exit 1
fi

echo "== go vet"
go vet ./...

echo "== go test"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
go test -count=1 -timeout 20m -v ./... >"$log" 2>&1 || status=$?
# Show failures in full, and every package's result line.
grep -E -B2 -A20 -- '^--- FAIL|^panic:' "$log" || true
grep -E '^(ok|FAIL|---) ' "$log" | grep -v -E '^--- PASS' || true
if [ "$status" -ne 0 ]; then
	echo "go test failed" >&2
	exit "$status"
fi
if grep -E -- '--- SKIP' "$log"; then
	echo "tests were skipped; every test must run" >&2
	exit 1
fi
passed=$(grep -c -E -- '^\s*--- PASS' "$log" || true)

echo "== reference build from xcaddy.json"
go run ./cmd/xbuild -config xcaddy.json -o bin/caddy 2>&1 | grep -E 'ERROR|Build complete|FATAL|failed' || true
test -x bin/caddy
./scripts/smoke.sh bin/caddy

echo "$passed passed, 0 failed"
