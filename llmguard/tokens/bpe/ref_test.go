package bpe

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

var testEncodings = []string{"cl100k_base", "o200k_base"}

// Building a tiktoken-go encoding costs 100–380 ms, so each is built once.
var (
	refOnce sync.Once
	refEnc  map[string]*tiktoken.Tiktoken
	refErr  error
)

// reference returns tiktoken-go's encoding, loaded offline: the default
// loader downloads the vocabulary, and tests must not touch the network.
func reference(tb testing.TB, name string) *tiktoken.Tiktoken {
	tb.Helper()
	refOnce.Do(func() {
		tiktoken.SetBpeLoader(tiktoken_loader.NewOfflineLoader())
		refEnc = make(map[string]*tiktoken.Tiktoken)
		for _, n := range testEncodings {
			e, err := tiktoken.GetEncoding(n)
			if err != nil {
				refErr = err
				return
			}
			refEnc[n] = e
		}
	})
	if refErr != nil {
		tb.Fatalf("loading tiktoken-go %s: %v", name, refErr)
	}
	return refEnc[name]
}

func refCount(tb testing.TB, name, text string) int {
	return len(reference(tb, name).EncodeOrdinary(text))
}

func mustGet(tb testing.TB, name string) *Counter {
	tb.Helper()
	c, err := Get(name)
	if err != nil {
		tb.Fatalf("Get(%q): %v", name, err)
	}
	return c
}

// ownTexts returns text the project wrote itself, in several styles: the README
// (prose, Caddyfile, JSON and shell), the example Caddyfiles, and the everyday prompt
// gate of the injection detector (short prompts in several languages and scripts). The
// eval build adds the public prompt corpora (shared_eval_test.go).
func ownTexts(tb testing.TB) []string {
	tb.Helper()
	root := filepath.Join("..", "..", "..")
	paths, _ := filepath.Glob(filepath.Join(root, "examples", "*", "Caddyfile"))
	paths = append(paths, filepath.Join(root, "README.md"))
	var out []string
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, string(b))
	}
	b, err := os.ReadFile(filepath.Join(root, "llmguard", "detect", "injection", "testdata", "everyday.jsonl"))
	if err != nil {
		tb.Fatal(err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		var row struct{ Text string }
		if err := json.Unmarshal([]byte(line), &row); err != nil {
			tb.Fatalf("everyday.jsonl: %v", err)
		}
		out = append(out, row.Text)
	}
	if len(out) < 300 {
		tb.Fatalf("only %d own texts", len(out))
	}
	return out
}
