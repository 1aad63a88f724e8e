#!/usr/bin/env bash
# The project's whole test suite (README command 2): vet, unit and fuzz-seed tests,
# Caddyfile golden tests, integration tests through a real in-process Caddy with the
# official SDKs, and the reference build from xcaddy.json with a smoke test of the binary
# and a run of every example exactly as its header says.
# It needs nothing beside the repository: tests use fixtures we wrote. The evaluation on
# public corpora is scripts/eval.sh.
# Any failing or skipped test fails the run: a skipped integration test is a broken harness.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0 # xcaddy builds with cgo off; sharing the setting shares the build cache

./scripts/setup.sh

echo "== go vet"
go vet ./...

echo "== go test"
log=${TMPDIR:-/tmp}/llmguard-test-$$.json
status=0
go test -count=1 -timeout 20m -json ./... >"$log" 2>&1 || status=$?
# Only failing tests' own output, each package that failed, skips, and the counts.
report=0
go run ./scripts/testreport <"$log" || report=$?
if [ "$status" -ne 0 ] || [ "$report" -ne 0 ]; then
	echo "go test failed; the full log (go test -json) is $log" >&2
	exit 1
fi
rm -f "$log"

echo "== reference build from xcaddy.json"
rm -f bin/caddy # a stale binary from an earlier run must not pass for this build
buildlog=${TMPDIR:-/tmp}/llmguard-build-$$.log
if ! go run ./cmd/xbuild -config xcaddy.json -o bin/caddy >"$buildlog" 2>&1 || ! [ -x bin/caddy ]; then
	tail -n 40 "$buildlog" >&2
	echo "reference build failed; the full log is $buildlog" >&2
	exit 1
fi
rm -f "$buildlog"
./scripts/smoke.sh bin/caddy
./scripts/examples.sh bin/caddy
echo "all tests passed"
