package llmaudit

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	_ "github.com/caddyserver/caddy/v2/modules/logging" // the file writer
	"github.com/spf13/cobra"
)

const (
	testHMAC = "chain-secret-0123456789"
	testEnc  = "0707070707070707070707070707070707070707070707070707070707070707"
)

// provisionWriter parses an llm_audit_chain block, round-trips it through JSON and
// provisions it (which loads the inner file writer).
func provisionWriter(t *testing.T, cf string) *ChainWriter {
	t.Helper()
	t.Setenv("TEST_AUDIT_HMAC", testHMAC)
	t.Setenv("TEST_AUDIT_ENC", testEnc)
	cw := new(ChainWriter)
	if err := cw.UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf)); err != nil {
		t.Fatalf("parse: %v", err)
	}
	raw, _ := json.Marshal(cw)
	cw = new(ChainWriter)
	if err := json.Unmarshal(raw, cw); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	t.Cleanup(cancel)
	if err := cw.Provision(ctx); err != nil {
		t.Fatalf("provision: %v", err)
	}
	return cw
}

// TestWriterVerifyDecryptCommands writes through the writer concurrently into a file, then
// runs `audit verify` and `audit decrypt` on it, then edits the file and verifies again.
func TestWriterVerifyDecryptCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "audit.log")
	cw := provisionWriter(t, `llm_audit_chain {
		hmac_key {env.TEST_AUDIT_HMAC}
		encrypt k2026 {env.TEST_AUDIT_ENC}
		output file `+file+`
	}`)
	if !strings.HasPrefix(cw.String(), "llm_audit_chain → ") || !strings.Contains(cw.WriterKey(), file) {
		t.Fatalf("%s / %s", cw.String(), cw.WriterKey())
	}
	w, err := cw.OpenWriter()
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			_, _ = w.Write([]byte(`{"msg":"llm request","i":` + itoa(i) + "}\n"))
		})
	}
	wg.Wait()
	_ = w.Close()
	data, _ := os.ReadFile(file)
	if bytes.Contains(data, []byte("llm request")) {
		t.Fatal("plaintext in encrypted log")
	}

	out, err := run(t, "verify", file)
	if err != nil || !strings.Contains(out, "OK: 20 records in 1 chain(s)") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	out, err = run(t, "decrypt", "--key", "k2026=TEST_AUDIT_ENC", file)
	if err != nil || strings.Count(out, `"msg":"llm request"`) != 20 {
		t.Fatalf("decrypt: %v\n%s", err, out)
	}

	lines := strings.SplitAfter(string(data), "\n")
	tampered := strings.Join(append(lines[:5:5], lines[6:]...), "")
	if err := os.WriteFile(file, []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = run(t, "verify", file)
	if err == nil || !strings.Contains(err.Error(), "records seq 5 to 5") || !strings.Contains(err.Error(), "after 5 intact records") {
		t.Fatalf("deleted record not reported: %v", err)
	}
}

func TestWriterCaddyfileErrors(t *testing.T) {
	for _, cf := range []string{
		"llm_audit_chain {\n output stdout\n}",
		"llm_audit_chain {\n hmac_key x\n}",
		"llm_audit_chain {\n hmac_key x\n hmac_key y\n output stdout\n}",
		"llm_audit_chain {\n hmac_key x\n encrypt bad/id key\n output stdout\n}",
		"llm_audit_chain {\n hmac_key x\n output llm_audit_chain\n}",
		"llm_audit_chain extra",
	} {
		if err := new(ChainWriter).UnmarshalCaddyfile(caddyfile.NewTestDispenser(cf)); err == nil {
			t.Errorf("accepted %q", cf)
		}
	}
	// A short key is refused at provision, without echoing it.
	t.Setenv("SHORT", "tiny")
	cw := &ChainWriter{HMACKey: "{env.SHORT}", WriterRaw: json.RawMessage(`{"output":"discard"}`)}
	ctx, cancel := caddy.NewContext(caddy.Context{Context: context.Background()})
	defer cancel()
	if err := cw.Provision(ctx); err == nil || strings.Contains(err.Error(), "tiny") {
		t.Fatalf("short key: %v", err)
	}
}

func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := &cobra.Command{Use: "llmguard"}
	root.AddCommand(newVerifyCommand(), newDecryptCommand())
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(io.Discard)
	root.SetArgs(args)
	t.Setenv(EnvHMACKey, testHMAC)
	err := root.Execute()
	return out.String(), err
}
