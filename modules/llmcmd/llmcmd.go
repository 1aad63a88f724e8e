// Package llmcmd registers the `caddy llmguard` command, to which the llm_* modules add
// their subcommands (`key new` from llm_auth, `scan` from llm_inspect, `audit` from
// llm_audit). Caddy allows one
// registration per command name, so the root lives here and modules only contribute.
//
// It holds no logic of its own and must never do I/O at init.
package llmcmd

import (
	"sync"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"
)

var (
	mu    sync.Mutex
	funcs []func(*cobra.Command)
)

// Add registers a function that attaches subcommands to `caddy llmguard`. Call it from
// init; the functions run when Caddy builds its command tree, after every init.
func Add(f func(*cobra.Command)) {
	mu.Lock()
	defer mu.Unlock()
	funcs = append(funcs, f)
}

func init() {
	caddycmd.RegisterCommand(caddycmd.Command{
		Name:  "llmguard",
		Short: "caddy-llmguard tools: gateway API keys, prompt scanning, audit logs",
		Long: `
Commands for the caddy-llmguard LLM gateway.

  caddy llmguard key new --id ID [--name NAME] [--roles R,…] [--scopes S,…]
                         [--models GLOB,…] [--tier T] [--expires YYYY-MM-DD]
      generates a gateway API key, prints it once, then its key-file entry (hash only);
      with --file keys.json, appends the entry to that file and prints only the key.

  caddy llmguard key list   [--file keys.json | --address localhost:2019] [--json]
  caddy llmguard key revoke ID   [--file … | --address …]
  caddy llmguard key rotate ID [--grace 24h] [--file … | --address …]
      administer keys in a key file, or through a running gateway's admin endpoint
      (admin.api.llm_keys), which applies the change at once.

  caddy llmguard sentinel show ACTOR    [--address localhost:2019]
  caddy llmguard sentinel release ACTOR [--address localhost:2019]
      shows a caller's risk (llm_sentinel) or lifts its quarantine; ACTOR is id:<key id>,
      addr:<network> or a client IP address.

  caddy llmguard scan [--config FILE]
      reads JSON Lines ({"id","text"} or request bodies) on stdin and writes one verdict
      per line with the detectors llm_inspect uses.

  caddy llmguard audit verify FILE…      checks the hash chain of audit logs (rolled files too)
  caddy llmguard audit decrypt FILE…     prints encrypted audit records in clear
      (keys from the environment, as configured for the llm_audit_chain writer; see --help)
`,
		CobraFunc: func(cmd *cobra.Command) {
			mu.Lock()
			defer mu.Unlock()
			for _, f := range funcs {
				f(cmd)
			}
		},
	})
}
