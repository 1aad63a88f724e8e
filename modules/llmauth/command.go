package llmauth

import (
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/glob"
	"github.com/llmguard/caddy-llmguard/modules/llmcmd"
)

func init() {
	llmcmd.Add(func(cmd *cobra.Command) {
		key := &cobra.Command{Use: "key", Short: "Manage gateway API keys"}
		key.AddCommand(newKeyCommand())
		cmd.AddCommand(key)
	})
}

var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)

func newKeyCommand() *cobra.Command {
	var o KeyOptions
	c := &cobra.Command{
		Use:   "new --id ID [--scopes …] [--models …] [--tier T] [--expires DATE]",
		Short: "Generate a gateway API key and its key-file entry",
		Long: `Generates a gateway API key (sk-llmg-…, 256 random bits) and prints it once on the
first line, followed by the key-file entry as JSON. Only the entry, which holds the key's
SHA-256 hash and never the key, goes into the key file or the Caddyfile; hand the key to
its user and do not store it.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Now = time.Now()
			return NewKeyEntry(cmd.OutOrStdout(), o)
		},
	}
	f := c.Flags()
	f.StringVar(&o.ID, "id", "", "key id (not secret; shown in logs and placeholders) (required)")
	f.StringVar(&o.Name, "name", "", "display name")
	f.StringSliceVar(&o.Roles, "roles", nil, "roles, comma-separated")
	f.StringSliceVar(&o.Scopes, "scopes", nil, "scopes, comma-separated (e.g. llm:chat,llm:models)")
	f.StringSliceVar(&o.Models, "models", nil, "allowed model globs, comma-separated")
	f.StringVar(&o.Tier, "tier", "", "tier")
	f.StringVar(&o.Expires, "expires", "", "expiry: YYYY-MM-DD (midnight UTC) or RFC 3339 time")
	_ = c.MarkFlagRequired("id")
	return c
}

// KeyOptions are the attributes of a new key.
type KeyOptions struct {
	ID, Name, Tier, Expires string
	Roles, Scopes, Models   []string
	Now                     time.Time
	Rand                    io.Reader // nil: crypto/rand
}

// NewKeyEntry generates a key and writes it, then its entry as indented JSON, to w.
func NewKeyEntry(w io.Writer, o KeyOptions) error {
	if !keyIDPattern.MatchString(o.ID) {
		return fmt.Errorf("--id must be 1–128 characters of letters, digits and . _ @ -, starting with a letter or digit")
	}
	e := &auth.Entry{ID: o.ID, Name: o.Name, Roles: o.Roles, Scopes: o.Scopes, Tier: o.Tier, Models: o.Models}
	for _, m := range o.Models {
		if err := glob.Valid(strings.TrimSpace(m)); err != nil {
			return err
		}
	}
	if o.Expires != "" {
		t, err := ParseExpiry(o.Expires)
		if err != nil {
			return fmt.Errorf("--expires: %v", err)
		}
		if !t.After(o.Now) {
			return fmt.Errorf("--expires %s is in the past", o.Expires)
		}
		e.Expires = &t
	}
	key, err := auth.NewKey(o.Rand)
	if err != nil {
		return err
	}
	e.Hash = auth.HashKey(key)
	entry, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n%s\n", key, entry)
	return err
}
