#!/usr/bin/env bash
# The evaluation on public corpora (../shared/data beside the repository): detection
# quality of the injection model (leave-one-source-out and in-source figures, false
# positives on benign sets), checks of the shipped weights and of the tokenizer against
# published vectors, and the parsers against real provider recordings. It is separate from
# scripts/test.sh because that data is third-party material that a clone does not have.
set -euo pipefail
cd "$(dirname "$0")/.."
export CGO_ENABLED=0
if [ ! -d ../shared/data ]; then
	echo "eval: the public corpora are expected in ../shared/data beside the repository" >&2
	exit 1
fi
log=${TMPDIR:-/tmp}/llmguard-eval-$$.json
status=0
go vet -tags eval ./...
go test -count=1 -timeout 30m -tags eval -json ./... >"$log" 2>&1 || status=$?
report=0
go run ./scripts/testreport <"$log" || report=$?
# The detection figures are the point of this command: print them.
grep -h -o '"Output":"[^"]*\(LOSO\|shipped\|threshold\|calibration\)[^"]*"' "$log" | sed 's/^"Output":"//; s/"$//; s/\\n$//; s/\\t/\t/g' | head -200 || true
if [ "$status" -ne 0 ] || [ "$report" -ne 0 ]; then
	echo "eval failed; the full log (go test -json) is $log" >&2
	exit 1
fi
echo "eval passed; the full log (go test -json) is $log"
