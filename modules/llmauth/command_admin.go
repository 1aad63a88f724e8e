package llmauth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	caddycmd "github.com/caddyserver/caddy/v2/cmd"
	"github.com/spf13/cobra"

	"github.com/llmguard/caddy-llmguard/llmguard/keyadmin"
)

// keyBackend is where `key list|revoke|rotate` act: a key file on this machine, or a
// running gateway's admin endpoint (admin.api.llm_keys), which reloads its stores at once.
type keyBackend interface {
	List() ([]keyadmin.View, error)
	Revoke(id string) (keyadmin.View, error)
	Rotate(id string, grace time.Duration) (keyadmin.Issued, error)
}

// adminBackend talks to admin.api.llm_keys through Caddy's own admin client (TCP or unix
// socket, with the Origin header the endpoint checks).
type adminBackend struct {
	address string
	file    string // ?file= when the gateway uses several key files
}

func (a adminBackend) call(method, path string, body any, out any) error {
	if a.file != "" {
		path += "?file=" + url.QueryEscape(a.file)
	}
	var rd io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(data)
	}
	resp, err := caddycmd.AdminAPIRequest(a.address, method, path, nil, rd)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(resp.Body).Decode(out)
}

func (a adminBackend) List() ([]keyadmin.View, error) {
	var out struct {
		Keys []keyadmin.View `json:"keys"`
	}
	err := a.call("GET", "/llm_keys", nil, &out)
	return out.Keys, err
}

func (a adminBackend) Revoke(id string) (keyadmin.View, error) {
	var v keyadmin.View
	err := a.call("DELETE", "/llm_keys/"+url.PathEscape(id), nil, &v)
	return v, err
}

func (a adminBackend) Rotate(id string, grace time.Duration) (keyadmin.Issued, error) {
	var iss keyadmin.Issued
	err := a.call("POST", "/llm_keys/"+url.PathEscape(id)+"/rotate", map[string]string{"grace": grace.String()}, &iss)
	return iss, err
}

// createRemote creates the key o describes through the admin endpoint o.Address and
// writes only the key to w.
func createRemote(w io.Writer, o KeyOptions) error {
	spec, err := specFrom(o)
	if err != nil {
		return err
	}
	var iss keyadmin.Issued
	if err := (adminBackend{address: o.Address, file: o.File}).call("POST", "/llm_keys", spec, &iss); err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n", iss.Key)
	return err
}

// backendFlags are the flags that choose a keyBackend.
type backendFlags struct {
	file, address string
}

func (b *backendFlags) add(c *cobra.Command) {
	c.Flags().StringVar(&b.file, "file", "", "key file to change directly (with --address: which key file of that gateway)")
	c.Flags().StringVar(&b.address, "address", "", "admin endpoint of a running gateway (default localhost:2019 when --file is not given)")
}

func (b *backendFlags) backend() keyBackend {
	if b.file != "" && b.address == "" {
		return &keyadmin.File{Path: b.file}
	}
	addr := b.address
	if addr == "" {
		addr = "localhost:2019"
	}
	return adminBackend{address: addr, file: b.file}
}

func newListCommand() *cobra.Command {
	var b backendFlags
	var asJSON bool
	c := &cobra.Command{
		Use:   "list [--file keys.json | --address host:port] [--json]",
		Short: "List gateway API keys (ids and attributes, never hashes or keys)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			keys, err := b.backend().List()
			if err != nil {
				return err
			}
			return printKeys(cmd.OutOrStdout(), keys, asJSON)
		},
	}
	b.add(c)
	c.Flags().BoolVar(&asJSON, "json", false, "print JSON instead of a table")
	return c
}

// printKeys writes keys as a table, or as JSON.
func printKeys(w io.Writer, keys []keyadmin.View, asJSON bool) error {
	if asJSON {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(keys)
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tSTATUS\tTIER\tROLES\tFROM\tEXPIRES\tNAME")
	for _, k := range keys {
		exp := "-"
		if k.Expires != nil {
			exp = k.Expires.UTC().Format(time.RFC3339)
		}
		status := k.Status
		if k.PreviousValidUntil != nil {
			status += " (old secret until " + k.PreviousValidUntil.UTC().Format(time.RFC3339) + ")"
		}
		// FROM is where the key works: its allowed networks and countries.
		from := strings.Join(append(slices.Clone(k.AllowedNetworks), k.AllowedCountries...), ",")
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, status, dash(k.Tier), dash(strings.Join(k.Roles, ",")), dash(from), exp, dash(k.Name))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func newRevokeCommand() *cobra.Command {
	var b backendFlags
	c := &cobra.Command{
		Use:   "revoke ID [--file keys.json | --address host:port]",
		Short: "Revoke a gateway API key (it stays listed, disabled)",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			v, err := b.backend().Revoke(args[0])
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s: %s\n", v.ID, v.Status)
			return err
		},
	}
	b.add(c)
	return c
}

func newRotateCommand() *cobra.Command {
	var b backendFlags
	var grace time.Duration
	c := &cobra.Command{
		Use:   "rotate ID [--grace 24h] [--file keys.json | --address host:port]",
		Short: "Give a gateway API key a new secret, printed once",
		Long: `Gives the key a new secret (same id, roles and limits) and prints it once. With --grace,
the old secret keeps working that long (at most 720h) so clients can switch without an
outage; without it, the old secret is refused at once.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			iss, err := b.backend().Rotate(args[0], grace)
			if err != nil {
				return err
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "%s\n", iss.Key)
			return err
		},
	}
	b.add(c)
	c.Flags().DurationVar(&grace, "grace", 0, "how long the old secret keeps working")
	return c
}
