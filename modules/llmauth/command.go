package llmauth

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/keyadmin"
	"github.com/llmguard/caddy-llmguard/modules/llmcmd"
)

func init() {
	llmcmd.Add(func(cmd *cobra.Command) { cmd.AddCommand(KeyCommand()) })
}

// KeyCommand returns `caddy llmguard key` with its subcommands new, list, revoke, rotate.
func KeyCommand() *cobra.Command {
	key := &cobra.Command{Use: "key", Short: "Manage gateway API keys", SilenceUsage: true}
	key.AddCommand(newKeyCommand(), newListCommand(), newRevokeCommand(), newRotateCommand())
	return key
}

func newKeyCommand() *cobra.Command {
	var o KeyOptions
	c := &cobra.Command{
		Use:   "new --id ID [--scopes …] [--models …] [--tier T] [--allowed-networks …] [--allowed-countries …] [--expires DATE] [--file keys.json]",
		Short: "Generate a gateway API key and its key-file entry",
		Long: `Generates a gateway API key (sk-llmg-…, 256 random bits) and prints it once on the
first line, followed by the key-file entry as JSON. Only the entry, which holds the key's
SHA-256 hash and never the key, goes into the key file or the Caddyfile; hand the key to
its user and do not store it.

With --address, the key is created through a running gateway's admin endpoint
(admin.api.llm_keys; with --file naming which of its key files) and works at once.

With --file, the entry is appended to that key file instead (created, as a JSON array with
mode 0600, if it does not exist; replaced atomically, so a running gateway that watches it
picks up the new key within a second), and only the key is printed. An id already in the
file is refused.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			o.Now = time.Now()
			if o.Address != "" {
				return createRemote(cmd.OutOrStdout(), o)
			}
			if o.File != "" {
				return AppendKey(cmd.OutOrStdout(), o)
			}
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
	f.StringSliceVar(&o.AllowedNetworks, "allowed-networks", nil, "client networks (CIDRs or addresses) the key works from, comma-separated")
	f.StringSliceVar(&o.AllowedCountries, "allowed-countries", nil, "client countries (ISO 3166-1 alpha-2, or unknown) the key works from, comma-separated; needs llm_geo")
	f.StringVar(&o.Expires, "expires", "", "expiry: YYYY-MM-DD (midnight UTC) or RFC 3339 time")
	f.StringVar(&o.File, "file", "", "key file to append the entry to (created if missing)")
	f.StringVar(&o.Address, "address", "", "create the key through this running gateway's admin endpoint instead (e.g. localhost:2019)")
	_ = c.MarkFlagRequired("id")
	return c
}

// KeyOptions are the attributes of a new key.
type KeyOptions struct {
	ID, Name, Tier, Expires string
	File                    string // key file to append to; "" prints the entry
	Address                 string // admin endpoint to create the key through
	Roles, Scopes, Models   []string
	// AllowedNetworks and AllowedCountries limit where the key works (auth.Attributes).
	AllowedNetworks, AllowedCountries []string
	Now                               time.Time
	Rand                              io.Reader // nil: crypto/rand
}

// NewKeyEntry generates a key and writes it, then its entry as indented JSON, to w.
func NewKeyEntry(w io.Writer, o KeyOptions) error {
	key, e, err := generateKey(o)
	if err != nil {
		return err
	}
	entry, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "%s\n%s\n", key, entry)
	return err
}

// AppendKey generates a key, appends its entry to the key file o.File (creating it) and
// writes only the key to w. The file is checked before the key is made: a malformed file
// or a duplicate id changes nothing. It goes through keyadmin, so it takes the same lock
// as a running gateway's admin API.
func AppendKey(w io.Writer, o KeyOptions) error {
	spec, err := specFrom(o)
	if err != nil {
		return err
	}
	f := &keyadmin.File{Path: o.File, MissingOK: true, Rand: o.Rand, Now: func() time.Time { return o.Now }}
	iss, err := f.Create(spec)
	if err != nil {
		return fmt.Errorf("%s: key %q: %v", o.File, o.ID, err)
	}
	_, err = fmt.Fprintf(w, "%s\n", iss.Key)
	return err
}

// specFrom is the keyadmin spec of the key o describes.
func specFrom(o KeyOptions) (*keyadmin.Spec, error) {
	attrs, err := o.attributes()
	if err != nil {
		return nil, err
	}
	return &keyadmin.Spec{ID: o.ID, Attributes: attrs}, nil
}

// attributes validates o and returns the attributes of the key it describes.
func (o KeyOptions) attributes() (auth.Attributes, error) {
	if err := auth.CheckKeyID(o.ID); err != nil {
		return auth.Attributes{}, fmt.Errorf("--id: %v", err)
	}
	a := auth.Attributes{Name: o.Name, Roles: o.Roles, Scopes: o.Scopes, Tier: o.Tier, Models: o.Models,
		AllowedNetworks: o.AllowedNetworks, AllowedCountries: o.AllowedCountries}
	if o.Expires != "" {
		t, err := ParseExpiry(o.Expires)
		if err != nil {
			return a, fmt.Errorf("--expires: %v", err)
		}
		a.Expires = &t
	}
	if err := a.Check(); err != nil {
		field, why, _ := strings.Cut(err.Error(), ": ")
		return a, fmt.Errorf("--%s: %s", strings.ReplaceAll(field, "_", "-"), why)
	}
	return a, nil
}

// generateKey validates o and generates a key and its entry.
func generateKey(o KeyOptions) (string, *auth.Entry, error) {
	attrs, err := o.attributes()
	if err != nil {
		return "", nil, err
	}
	if attrs.Expires != nil && !attrs.Expires.After(o.Now) {
		return "", nil, fmt.Errorf("--expires %s is in the past", o.Expires)
	}
	e := &auth.Entry{ID: o.ID, Attributes: attrs}
	key, err := auth.NewKey(o.Rand)
	if err != nil {
		return "", nil, err
	}
	e.Hash = auth.HashKey(key)
	return key, e, nil
}
