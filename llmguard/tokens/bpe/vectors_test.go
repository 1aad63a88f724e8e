package bpe

import (
	"encoding/hex"
	"path/filepath"
	"testing"

	"github.com/pkoukk/tiktoken-go"
)

type publishedVector struct {
	Encoding      string         `json:"encoding"`
	Model         string         `json:"model"`
	Text          string         `json:"text"`
	BytesHex      string         `json:"bytes_hex"`
	ExpectedIDs   []int          `json:"expected_ids"`
	ExpectedCount *int           `json:"expected_count"`
	Method        string         `json:"method"`
	Kwargs        map[string]any `json:"kwargs"`
	Source        string         `json:"source"`
}

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

type corpusRow struct {
	ID     string `json:"id"`
	Text   string `json:"text"`
	CL100K struct {
		Count int `json:"count"`
	} `json:"cl100k_base"`
	O200K struct {
		Count int `json:"count"`
	} `json:"o200k_base"`
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

func TestGetUnknown(t *testing.T) {
	if _, err := Get("p50k_base"); err == nil {
		t.Fatal("Get(p50k_base) succeeded; only cl100k_base and o200k_base are supported")
	}
	a, b := mustGet(t, "o200k_base"), mustGet(t, "o200k_base")
	if a != b {
		t.Fatal("Get returned two counters for one encoding")
	}
}

// TestClassTable pins the cached BMP classes to the unicode tables, over
// every rune, so a table-building slip cannot hide behind the fuzzer.
func TestClassTable(t *testing.T) {
	mustGet(t, "cl100k_base")
	for r := rune(0); r < 1<<16; r++ {
		if got, want := class(r), slowClass(r); got != want {
			t.Fatalf("class(%U) = %05b, want %05b", r, got, want)
		}
	}
}
