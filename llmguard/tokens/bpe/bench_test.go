package bpe

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

const benchSize = 100 << 10

// truncate cuts s to at most n bytes on a rune boundary, so the inputs stay
// valid UTF-8 and both sides measure the common case.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

func benchProse(b *testing.B) string {
	return truncate(strings.Join(ownTexts(b), "\n\n"), benchSize)
}

func benchGoCode(b *testing.B) string {
	root := os.Getenv("GOROOT")
	if root == "" {
		out, err := exec.Command("go", "env", "GOROOT").Output()
		if err != nil {
			b.Fatalf("locating GOROOT: %v", err)
		}
		root = strings.TrimSpace(string(out))
	}
	src, err := os.ReadFile(filepath.Join(root, "src", "net", "http", "server.go"))
	if err != nil {
		b.Fatalf("reading Go source: %v", err)
	}
	return truncate(string(src), benchSize)
}

// benchJSON marshals a deterministic, API-log-like structure: ids, numbers,
// short words, nested objects and arrays.
func benchJSON(b *testing.B) string {
	rng := rand.New(rand.NewPCG(1, 2))
	words := strings.Fields("alpha beta gamma delta user assistant system content tool call " +
		"model temperature tokens stream request response error message choice index")
	type item struct {
		ID      string             `json:"id"`
		Index   int                `json:"index"`
		Score   float64            `json:"score"`
		Role    string             `json:"role"`
		Content string             `json:"content"`
		Tags    []string           `json:"tags"`
		Usage   map[string]int     `json:"usage"`
		Extra   map[string]float64 `json:"extra,omitempty"`
	}
	var items []item
	size := 0
	for size < benchSize {
		it := item{
			ID:    fmt.Sprintf("chatcmpl-%016x", rng.Uint64()),
			Index: rng.IntN(1000),
			Score: rng.Float64() * 100,
			Role:  words[rng.IntN(len(words))],
			Usage: map[string]int{"prompt_tokens": rng.IntN(5000), "completion_tokens": rng.IntN(900)},
		}
		var sb strings.Builder
		for k := 0; k < 8+rng.IntN(12); k++ {
			sb.WriteString(words[rng.IntN(len(words))])
			sb.WriteByte(' ')
		}
		it.Content = sb.String()
		for k := 0; k < rng.IntN(4); k++ {
			it.Tags = append(it.Tags, words[rng.IntN(len(words))])
		}
		items = append(items, it)
		size += 250
	}
	out, err := json.MarshalIndent(items, "", "  ")
	if err != nil {
		b.Fatal(err)
	}
	return truncate(string(out), benchSize)
}

// measure runs f in a benchmark loop over text and reports throughput,
// allocations and CPU time per operation (see processCPU).
func measure(b *testing.B, text string, f func(string)) {
	b.SetBytes(int64(len(text)))
	b.ReportAllocs()
	start, ok := processCPU()
	for b.Loop() {
		f(text)
	}
	if end, ok2 := processCPU(); ok && ok2 && b.N > 0 {
		b.ReportMetric(float64(end-start)/float64(b.N)/1e6, "cpu-ms/op")
	}
}

// BenchmarkCount compares this package with tiktoken-go on the same inputs.
func BenchmarkCount(b *testing.B) {
	inputs := []struct {
		name string
		text string
	}{
		{"prose", benchProse(b)},
		{"gocode", benchGoCode(b)},
		{"json", benchJSON(b)},
	}
	for _, enc := range testEncodings {
		c := mustGet(b, enc)
		ref := reference(b, enc)
		for _, in := range inputs {
			if got, want := c.Count(in.text), len(ref.EncodeOrdinary(in.text)); got != want {
				b.Fatalf("%s %s: Count = %d, tiktoken-go %d", enc, in.name, got, want)
			}
			b.Run(enc+"/"+in.name+"/bpe", func(b *testing.B) {
				measure(b, in.text, func(s string) { c.Count(s) })
			})
			b.Run(enc+"/"+in.name+"/tiktoken-go", func(b *testing.B) {
				measure(b, in.text, func(s string) { _ = len(ref.EncodeOrdinary(s)) })
			})
		}
	}
}

// BenchmarkPathological shows the linear worst case: one 50 KB piece of a
// single letter (one pre-token, all work in the merge) and 50 KB of spaces.
// tiktoken-go needs seconds at that size, so it is measured at 5 KB only.
func BenchmarkPathological(b *testing.B) {
	for _, enc := range testEncodings {
		c := mustGet(b, enc)
		ref := reference(b, enc)
		for _, in := range []struct{ name, unit string }{{"a", "a"}, {"spaces", " "}} {
			for _, size := range []int{5 << 10, 50 << 10} {
				text := strings.Repeat(in.unit, size)
				b.Run(fmt.Sprintf("%s/%s-%dKB/bpe", enc, in.name, size>>10), func(b *testing.B) {
					measure(b, text, func(s string) { c.Count(s) })
				})
				if size > 5<<10 {
					continue
				}
				b.Run(fmt.Sprintf("%s/%s-%dKB/tiktoken-go", enc, in.name, size>>10), func(b *testing.B) {
					measure(b, text, func(s string) { _ = len(ref.EncodeOrdinary(s)) })
				})
			}
		}
	}
}
