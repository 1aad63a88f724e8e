package bpe

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/pkoukk/tiktoken-go"
	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// sharedDir is the read-only test material that lives beside the repository
// root (<repo>/../shared), seen from this package directory.
var sharedDir = filepath.Join("..", "..", "..", "..", "shared", "data")

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

// readJSONL decodes every line of a shared data file into a fresh T. A
// missing file fails the test: silently skipping would hide the vectors.
func readJSONL[T any](tb testing.TB, rel string) []T {
	tb.Helper()
	f, err := os.Open(filepath.Join(sharedDir, rel))
	if err != nil {
		tb.Fatalf("test data missing (expected <repo>/../shared/data/%s): %v", rel, err)
	}
	defer f.Close()
	var out []T
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var v T
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			tb.Fatalf("%s line %d: %v", rel, len(out)+1, err)
		}
		out = append(out, v)
	}
	if err := sc.Err(); err != nil {
		tb.Fatalf("%s: %v", rel, err)
	}
	if len(out) == 0 {
		tb.Fatalf("%s: no rows", rel)
	}
	return out
}

// sharedTexts returns every text of the prompt-injection files, which mix
// English, German, code, markup and long jailbreak prompts.
func sharedTexts(tb testing.TB) []string {
	tb.Helper()
	var out []string
	for _, f := range []string{
		"deepset_train.jsonl", "notinject_one.jsonl",
		"wildguard_benign_dev.jsonl", "inthewild_jailbreaks_dev.jsonl",
	} {
		for _, row := range readJSONL[struct{ Text string }](tb, filepath.Join("prompt-injection", f)) {
			out = append(out, row.Text)
		}
	}
	return out
}
