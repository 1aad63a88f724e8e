// Command caddy is Caddy with the standard modules and caddy-llmguard, built with the
// project's own go.mod. Tests and benchmarks use it for speed (a warm build takes
// seconds); the reference build that users get comes from xcaddy.json via cmd/xbuild.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	_ "github.com/caddyserver/caddy/v2/modules/standard"
	_ "github.com/llmguard/caddy-llmguard"
)

func main() {
	caddycmd.Main()
}
