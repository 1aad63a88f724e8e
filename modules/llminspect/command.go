package llminspect

import (
	"encoding/json"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/eval"
	"github.com/llmguard/caddy-llmguard/modules/llmcmd"
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
{"injection_threshold":0.7,"actions":{"EMAIL_ADDRESS":"block"}}.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			det := &Detect{}
			if config != "" {
				data, err := os.ReadFile(config)
				if err != nil {
					return err
				}
				if err := json.Unmarshal(data, det); err != nil {
					return fmt.Errorf("parsing %s: %v", config, err)
				}
			}
			d, err := det.build()
			if err != nil {
				return err
			}
			if d == nil {
				return fmt.Errorf("the configuration turns detection off; nothing to scan with")
			}
			return eval.Run(cmd.InOrStdin(), cmd.OutOrStdout(), eval.Config{Detectors: d.Config, ScanSystem: d.ScanSystem})
		},
	}
	c.Flags().StringVar(&config, "config", "", `JSON file with llm_inspect's "detect" settings`)
	return c
}
