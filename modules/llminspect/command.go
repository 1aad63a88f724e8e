package llminspect

import (
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/caddyserver/caddy/v2"
	"github.com/spf13/cobra"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/eval"
	"github.com/llmguard/caddy-llmguard/modules/llmcmd"
	"github.com/llmguard/caddy-llmguard/modules/llmdetect"
)

func init() {
	llmcmd.Add(func(cmd *cobra.Command) { cmd.AddCommand(newScanCommand()) })
}

func newScanCommand() *cobra.Command {
	var config string
	c := &cobra.Command{
		Use:   "scan [--config FILE]",
		Short: "Run the prompt detectors over JSON Lines on stdin",
		Long: `Reads JSON Lines on stdin — {"id":…,"text":…} or a full request body — and writes one
JSON line per input: id, flagged (the request would be refused), action, score, findings
(detector, type, start, end), the redacted text and the time taken in µs.

Without --config it uses llm_inspect's defaults, so it measures what a new user gets.
--config names a JSON file holding llm_inspect's "detect" object, e.g.
{"detectors":[{"detector":"injection","threshold":0.7},{"detector":"pii"}],
 "actions":{"EMAIL_ADDRESS":"block"}}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			det := &llmdetect.Config{}
			if config != "" {
				data, err := os.ReadFile(config)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(data, det); err != nil {
					return fmt.Errorf("parsing %s: %v", config, err)
				}
			}
			// Detectors are Caddy modules; a bare context provisions them as a config would.
			ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
			defer cancel()
			d, err := det.Load(ctx, llmdetect.RequestDefaults)
			if err != nil {
				return err
			}
			if d == nil {
				return fmt.Errorf("the configuration turns detection off; nothing to scan with")
			}
			return eval.Run(cmd.InOrStdin(), cmd.OutOrStdout(), eval.Config{Policy: &d.Policy, ScanSystem: d.ScanSystem})
		},
	}
	c.Flags().StringVar(&config, "config", "", `JSON file with llm_inspect's "detect" settings`)
	return c
}
