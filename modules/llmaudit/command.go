package llmaudit

import (
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/llmguard/caddy-llmguard/llmguard/audit"
	"github.com/llmguard/caddy-llmguard/modules/llmcmd"
)

// Environment variables the commands read keys from by default. Keys are never taken as
// flag values: those end up in shell history and process listings.
const (
	EnvHMACKey = "LLMGUARD_AUDIT_HMAC_KEY"
	EnvEncKey  = "LLMGUARD_AUDIT_ENC_KEY" // only named in help texts: decrypt takes --key
)

func init() {
	llmcmd.Add(func(cmd *cobra.Command) {
		a := &cobra.Command{Use: "audit", Short: "Verify and decrypt llm_audit_chain audit logs"}
		a.AddCommand(newVerifyCommand(), newDecryptCommand())
		cmd.AddCommand(a)
	})
}

func newVerifyCommand() *cobra.Command {
	var keyEnv string
	c := &cobra.Command{
		Use:   "verify [--hmac-key-env NAME] FILE...",
		Short: "Check the hash chain of audit log files",
		Long: `Checks the records of the given files, in the order given — oldest rolled file first,
the live file last, e.g. audit-*.log.gz audit.log — and reports the first record that
was altered, forged, reordered or is missing. Gzipped rolled files (roll_gzip) are read
directly. Encrypted records are verified without the encryption key.

The chain secret is read from the environment variable named by --hmac-key-env
(default ` + EnvHMACKey + `). Exit status 1 means the chain is broken.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, files []string) error {
			key := os.Getenv(keyEnv)
			if err := audit.CheckMACKey([]byte(key)); err != nil {
				return fmt.Errorf("$%s: %v", keyEnv, err)
			}
			v := audit.NewVerifier([]byte(key))
			for _, f := range files {
				if err := withFile(f, func(r io.Reader) error { return v.Check(f, r) }); err != nil {
					return fmt.Errorf("FAILED after %d intact records: %v", v.Report.Records, err)
				}
			}
			rep := v.Report
			fmt.Fprintf(cmd.OutOrStdout(), "OK: %d records in %d chain(s) intact\n", rep.Records, rep.Chains)
			if rep.MidChainStart {
				fmt.Fprintf(cmd.OutOrStdout(), "note: the first record is seq %d of its chain; earlier records (older files, e.g. removed by roll_keep_for) were not given\n", rep.FirstSeq)
			}
			return nil
		},
	}
	c.Flags().StringVar(&keyEnv, "hmac-key-env", EnvHMACKey, "environment variable holding the chain secret")
	return c
}

func newDecryptCommand() *cobra.Command {
	var keys []string
	c := &cobra.Command{
		Use:   "decrypt [--key KEYID=ENVVAR]... [FILE...]",
		Short: "Print the entries of audit log files, decrypting encrypted ones",
		Long: `Writes the log entry of every record, one JSON line each, decrypting encrypted records.
Reads standard input when no file is given. Each --key names a key id and the environment
variable that holds its key (64 hex digits or base64), e.g.
--key k2025=` + EnvEncKey + `; give one per key id the files were written with.
Every ciphertext is authenticated; run 'verify' to check the chain as well.`,
		RunE: func(cmd *cobra.Command, files []string) error {
			ring := audit.Keyring{}
			for _, k := range keys {
				id, env, ok := strings.Cut(k, "=")
				if !ok {
					return fmt.Errorf("--key %q: want KEYID=ENVVAR", k)
				}
				key, err := audit.ParseAESKey(os.Getenv(env))
				if err != nil {
					return fmt.Errorf("$%s: %v", env, err)
				}
				if err := ring.Add(id, key); err != nil {
					return err
				}
			}
			out := cmd.OutOrStdout()
			if len(files) == 0 {
				return audit.Decrypt("stdin", cmd.InOrStdin(), ring, out)
			}
			for _, f := range files {
				if err := withFile(f, func(r io.Reader) error { return audit.Decrypt(f, r, ring, out) }); err != nil {
					return err
				}
			}
			return nil
		},
	}
	c.Flags().StringArrayVar(&keys, "key", nil, "KEYID=ENVVAR: the environment variable holding key KEYID (repeatable)")
	return c
}

// withFile opens name, transparently gunzipping *.gz (Caddy's roll_gzip), and calls f.
func withFile(name string, f func(io.Reader) error) error {
	file, err := os.Open(name)
	if err != nil {
		return err
	}
	defer file.Close()
	var r io.Reader = file
	if strings.HasSuffix(name, ".gz") {
		gz, err := gzip.NewReader(file)
		if err != nil {
			return fmt.Errorf("%s: %v", name, err)
		}
		defer gz.Close()
		r = gz
	}
	return f(r)
}
