package bpe

import (
	"testing"
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
