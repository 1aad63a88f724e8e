#!/usr/bin/env bash
# Installs what the tests need inside the repository and checks what they need outside it:
# the OIDC provider's npm packages (integration/oidc, pinned by its package-lock.json), and
# node ≥ 20, curl, redis-server and openssl on the PATH. Run by scripts/test.sh; .ci/run installs
# the system packages first on a fresh Debian machine.
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v curl >/dev/null || missing+=("curl (Debian package curl)")
command -v redis-server >/dev/null || missing+=("redis-server (Debian package redis-server)")
command -v openssl >/dev/null || missing+=("openssl (Debian package openssl; examples/mtls/make-certs.sh uses it)")
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	missing+=("Node.js ≥ 20 with npm")
else
	# The OIDC test provider (oidc-provider 9) is tested here on Node 20 and later; Debian
	# 12's own nodejs package is 18, which is refused rather than half-working.
	major=$(node -p 'process.versions.node.split(".")[0]')
	[ "$major" -ge 20 ] || missing+=("Node.js ≥ 20 (found $(node --version))")
fi
if [ ${#missing[@]} -gt 0 ]; then
	printf 'setup: missing %s\n' "${missing[@]}" >&2
	echo "setup: .ci/run installs the Debian packages; see README \"Troubleshooting\"" >&2
	exit 1
fi
# npm ci only when the lock file changed since the last install.
stamp=integration/oidc/node_modules/.package-lock.json
if [ ! -f "$stamp" ] || [ integration/oidc/package-lock.json -nt "$stamp" ]; then
	(cd integration/oidc && npm ci --no-audit --no-fund --loglevel=error)
fi
