package llmsentinel

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/llmguard/caddy-llmguard/modules/llmcmd"
)

func init() {
	llmcmd.Add(func(cmd *cobra.Command) { cmd.AddCommand(newCommand()) })
}

// newCommand is `caddy llmguard sentinel show|release ACTOR`, against a running
// gateway's admin endpoint (admin.api.llm_sentinel): learned state lives in the
// gateway (or its Redis), not in a file.
func newCommand() *cobra.Command {
	var address string
	c := &cobra.Command{
		Use:   "sentinel",
		Short: "Show or release a caller llm_sentinel assessed (id:<identity>, addr:<network> or an IP address)",
	}
	c.PersistentFlags().StringVar(&address, "address", "localhost:2019", "admin endpoint of the running gateway")
	for _, sub := range []struct{ use, short, method string }{
		{"show ACTOR", "Print the caller's risk level, quarantine and signals as JSON", http.MethodGet},
		{"release ACTOR", "Lift the caller's quarantine and clear the evidence behind it", http.MethodDelete},
	} {
		c.AddCommand(&cobra.Command{
			Use: sub.use, Short: sub.short, Args: cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				return callActor(cmd.OutOrStdout(), address, sub.method, args[0])
			},
		})
	}
	return c
}

func callActor(w io.Writer, address, method, actor string) error {
	key, err := ActorKey(actor)
	if err != nil {
		return err
	}
	resp, err := caddycmd.AdminAPIRequest(address, method, "/llm_sentinel/actors/"+url.PathEscape(key), nil, nil)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var v ActorView
	if err := json.NewDecoder(resp.Body).Decode(&v); err != nil {
		return fmt.Errorf("reading the gateway's answer: %v", err)
	}
	out, _ := json.MarshalIndent(v, "", "  ")
	_, err = fmt.Fprintln(w, strings.TrimSpace(string(out)))
	return err
}
