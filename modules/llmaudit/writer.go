package llmaudit

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"sync"

	"github.com/caddyserver/caddy/v2"

	"github.com/llmguard/caddy-llmguard/llmguard/audit"
)

func init() {
	caddy.RegisterModule(ChainWriter{})
}

// ChainWriter is a log writer (caddy.logging.writers.llm_audit_chain) that turns every log
// entry into a tamper-evident record and passes it to another writer, typically a rolling
// file. Each record carries a sequence number and the HMAC-SHA256 of its predecessor, so
// `caddy llmguard audit verify` finds an edited, deleted, inserted or reordered record,
// also across rolled files. With encryption the entry is sealed with AES-256-GCM and the
// key id is stored in the record, so keys can be rotated: old files decrypt with the old
// key id.
//
// Every (re)open starts a new chain (seq 0, a new random chain id). The chain cannot show
// that the last records before a restart were removed; ship the log off the host (a `net`
// output to a collector) where that matters.
type ChainWriter struct {
	// HMACKey is the chain secret, e.g. "{env.LLMGUARD_AUDIT_HMAC_KEY}", at least 16
	// bytes. Required: anyone who knows it can forge a valid chain, so keep it out of the
	// config file and away from the log host's readers.
	HMACKey string `json:"hmac_key"`

	// Encryption, when set, encrypts every entry at rest. Default off: entries are
	// stored in clear, chained but readable.
	Encryption *Encryption `json:"encryption,omitempty"`

	// WriterRaw is the writer the records go to (e.g. a file writer with roll settings).
	// Required. Its JSON key is "writer" because "output" already names this module in
	// the enclosing log's writer object.
	WriterRaw json.RawMessage `json:"writer,omitempty" caddy:"namespace=caddy.logging.writers inline_key=output"`

	output caddy.WriterOpener
	macKey []byte
	encKey []byte
	kid    string
}

// Encryption configures AES-256-GCM encryption of entries.
type Encryption struct {
	// KeyID names the key in every record, 1-64 letters, digits, '.', '_' or '-'.
	// Change it whenever the key changes. Required.
	KeyID string `json:"key_id"`
	// Key is the 256-bit key as 64 hex digits or base64, e.g.
	// "{env.LLMGUARD_AUDIT_ENC_KEY}". Required. Losing it makes the records unreadable.
	Key string `json:"key"`
}

// CaddyModule returns the Caddy module information.
func (ChainWriter) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "caddy.logging.writers.llm_audit_chain",
		New: func() caddy.Module { return new(ChainWriter) },
	}
}

// Provision resolves the keys from the environment and loads the inner writer.
func (cw *ChainWriter) Provision(ctx caddy.Context) error {
	repl := caddy.NewReplacer()
	cw.macKey = []byte(repl.ReplaceAll(cw.HMACKey, ""))
	if err := audit.CheckMACKey(cw.macKey); err != nil {
		return fmt.Errorf("hmac_key: %v", err)
	}
	if e := cw.Encryption; e != nil {
		if !audit.ValidKeyID(e.KeyID) {
			return fmt.Errorf("encryption key_id %q: use 1-64 letters, digits, '.', '_' or '-'", e.KeyID)
		}
		key, err := audit.ParseAESKey(repl.ReplaceAll(e.Key, ""))
		if err != nil {
			return fmt.Errorf("encryption key: %v", err)
		}
		cw.encKey, cw.kid = key, e.KeyID
	}
	if cw.WriterRaw == nil {
		return fmt.Errorf("llm_audit_chain needs an output writer")
	}
	mod, err := ctx.LoadModule(cw, "WriterRaw")
	if err != nil {
		return fmt.Errorf("loading output writer: %v", err)
	}
	cw.output = mod.(caddy.WriterOpener)
	return nil
}

// String describes the writer for humans.
func (cw *ChainWriter) String() string {
	if cw.output == nil {
		return "llm_audit_chain"
	}
	return "llm_audit_chain → " + cw.output.String()
}

// keySalt makes WriterKey depend on the keys without exposing a digest of them that could
// be attacked offline.
var keySalt = sync.OnceValue(func() []byte {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return b
})

// WriterKey identifies the writer so that a reload with unchanged settings keeps the same
// open writer (and chain), and a key change opens a new one.
func (cw *ChainWriter) WriterKey() string {
	h := sha256.New()
	h.Write(keySalt())
	for _, b := range [][]byte{cw.macKey, cw.encKey, []byte(cw.kid)} {
		fmt.Fprintf(h, "%d:", len(b))
		h.Write(b)
	}
	inner := ""
	if cw.output != nil {
		inner = cw.output.WriterKey()
	}
	return "llm_audit_chain:" + hex.EncodeToString(h.Sum(nil)[:8]) + ":" + inner
}

// OpenWriter opens the inner writer and starts a new chain.
func (cw *ChainWriter) OpenWriter() (io.WriteCloser, error) {
	s, err := audit.NewSealer(cw.macKey, cw.kid, cw.encKey, rand.Reader)
	if err != nil {
		return nil, err
	}
	w, err := cw.output.OpenWriter()
	if err != nil {
		return nil, err
	}
	return &chainWriter{sealer: s, out: w}, nil
}

// chainWriter seals each Write (zap writes one entry per call) into one record.
type chainWriter struct {
	mu     sync.Mutex
	sealer *audit.Sealer
	out    io.WriteCloser
}

func (c *chainWriter) Write(p []byte) (int, error) {
	// The lock spans sealing and writing so that records reach the file in sequence
	// order even with concurrent loggers.
	c.mu.Lock()
	defer c.mu.Unlock()
	line, err := c.sealer.Seal(p)
	if err != nil {
		return 0, err
	}
	if _, err := c.out.Write(line); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (c *chainWriter) Close() error { return c.out.Close() }

// Interface guards
var (
	_ caddy.Provisioner  = (*ChainWriter)(nil)
	_ caddy.WriterOpener = (*ChainWriter)(nil)
)
