//go:build eval

package bpe

import (
	"bufio"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/pkoukk/tiktoken-go"
)

// TestPublishedVectors checks the tiktoken test-suite vectors and the
// python-tiktoken counts from tiktoken-go's docs for our two encodings
// (rows naming a model are mapped with tiktoken-go's MODEL_TO_ENCODING).
//
// Two kinds of rows do not have ordinary-text semantics and are instead
// checked against tiktoken-go's EncodeOrdinary, which is our contract:
//   - allowed_special "all": the expected ids encode "<|endoftext|>" as one
//     special token, while Count treats it as text by design;
//   - _encode_bytes: python encodes raw bytes and lets an invalid UTF-8 tail
//     merge as bytes, while a Go string goes through []rune and tiktoken-go
//     sees U+FFFD there.
func TestPublishedVectors(t *testing.T) {
	rows := readJSONL[publishedVector](t, filepath.Join("tokenizer", "tiktoken_published_vectors.jsonl"))
	checked, viaRef := 0, 0
	for i, v := range rows {
		enc := v.Encoding
		if enc == "" {
			enc = tiktoken.MODEL_TO_ENCODING[v.Model]
		}
		if enc != "cl100k_base" && enc != "o200k_base" {
			continue
		}
		c := mustGet(t, enc)
		text := v.Text
		if v.BytesHex != "" {
			b, err := hex.DecodeString(v.BytesHex)
			if err != nil {
				t.Fatalf("row %d: %v", i, err)
			}
			text = string(b)
		}
		got := c.Count(text)
		if v.Kwargs != nil || v.Method == "_encode_bytes" {
			if want := refCount(t, enc, text); got != want {
				t.Errorf("row %d %s %q (%s): got %d, tiktoken-go EncodeOrdinary %d", i, enc, text, v.Method, got, want)
			}
			viaRef++
			continue
		}
		if v.Method != "" && v.Method != "encode" {
			t.Fatalf("row %d: unexpected method %q", i, v.Method)
		}
		want := len(v.ExpectedIDs)
		if v.ExpectedCount != nil {
			want = *v.ExpectedCount
		}
		if got != want {
			t.Errorf("row %d %s %q (%s): got %d, want %d", i, enc, text, v.Source, got, want)
		}
		checked++
	}
	t.Logf("%d rows checked against expected counts, %d against tiktoken-go", checked, viaRef)
	if checked < 50 {
		t.Fatalf("only %d vectors applied; the file format changed?", checked)
	}
}

func TestTokenCountsCorpus(t *testing.T) {
	rows := readJSONL[corpusRow](t, filepath.Join("tokenizer", "token_counts_corpus.jsonl"))
	cl, o2 := mustGet(t, "cl100k_base"), mustGet(t, "o200k_base")
	for _, r := range rows {
		if got := cl.Count(r.Text); got != r.CL100K.Count {
			t.Errorf("%s cl100k_base: got %d, want %d", r.ID, got, r.CL100K.Count)
		}
		if got := o2.Count(r.Text); got != r.O200K.Count {
			t.Errorf("%s o200k_base: got %d, want %d", r.ID, got, r.O200K.Count)
		}
	}
}

// sharedDir is the read-only test material that lives beside the repository
// root (<repo>/../shared), seen from this package directory.
var sharedDir = filepath.Join("..", "..", "..", "..", "shared", "data")

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

// TestDifferentialSharedCorpus compares every text of the public prompt corpora with
// tiktoken-go.
func TestDifferentialSharedCorpus(t *testing.T) {
	texts := sharedTexts(t)
	for _, enc := range testEncodings {
		c := mustGet(t, enc)
		for _, text := range texts {
			if got, want := c.Count(text), refCount(t, enc, text); got != want {
				t.Errorf("%s: Count(%.80q) = %d, tiktoken-go %d", enc, text, got, want)
			}
		}
	}
}
