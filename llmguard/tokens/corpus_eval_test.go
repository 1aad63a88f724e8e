//go:build eval

package tokens

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

var vectors = filepath.Join("..", "..", "..", "shared", "data", "tokenizer")

// TestCorpusVectors checks every row of the shared corpus, which holds counts under
// ordinary-text semantics (special-token strings count as text).
func TestCorpusVectors(t *testing.T) {
	f, err := os.Open(filepath.Join(vectors, "token_counts_corpus.jsonl"))
	if err != nil {
		t.Fatalf("tokenizer vectors missing: %v", err)
	}
	defer f.Close()
	counters := map[string]Counter{}
	for _, name := range []string{CL100K, O200K} {
		c, err := Get(name)
		if err != nil {
			t.Fatal(err)
		}
		counters[name] = c
	}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	rows := 0
	for sc.Scan() {
		var row map[string]json.RawMessage
		if err := json.Unmarshal(sc.Bytes(), &row); err != nil {
			t.Fatal(err)
		}
		var text string
		_ = json.Unmarshal(row["text"], &text)
		for name, c := range counters {
			var want struct{ Count int }
			if err := json.Unmarshal(row[name], &want); err != nil {
				t.Fatal(err)
			}
			if got := c.Count(text); got != want.Count {
				t.Errorf("%s %q: %d, want %d", name, truncate(text), got, want.Count)
			}
		}
		rows++
	}
	if rows < 200 {
		t.Fatalf("only %d rows read", rows)
	}
}
