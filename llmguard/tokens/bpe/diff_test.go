package bpe

import (
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"sync"
	"testing"
)

// diffCorpus covers every branch of both split patterns: contractions in
// any case, letter-case runs with marks, number runs, punctuation with
// trailing newlines and slashes, each whitespace rule, CRLF, non-ASCII
// spaces (U+0085, U+00A0, U+3000), invalid UTF-8 and long repetitions.
var diffCorpus = []string{
	"",
	"hello world",
	"Hello, World! How's it going? I'LL be there; you'RE late, WE'VE gone, she'D, it'S, don'T, I'M.",
	"'s 't 're 've 'm 'll 'd 'S 'T 'RE 'Ve 'M 'lL 'D 'x ''s '",
	"The quick brown fox jumps over the lazy dog.\nThe QUICK brown FOX.\r\n\r\nEnd.",
	"package main\n\nimport \"fmt\"\n\nfunc main() {\n\tfor i := 0; i < 10; i++ {\n\t\tfmt.Println(i) // 12345678\n\t}\n}\n",
	`{"id": 12345, "name": "Alice", "tags": ["a", "b"], "nested": {"x": -1.5e10, "y": null}}`,
	"Größenwahn überall: Die Straße heißt Äußere Mühle. ÄÖÜ äöü ß ẞ",
	"Съешь же ещё этих мягких французских булок, да выпей чаю. ПРИВЕТ Мир",
	"我能吞下玻璃而不伤身体。你好世界！こんにちは世界！한국어 텍스트",
	"emoji 😀😃😄 👍🏽 👨‍👩‍👧‍👦 🇩🇪 ❤️ test",
	"mixed: abc123def ١٢٣ ४५६ Ⅻ ½ ²³ 1234567890 12 345",
	"spaces:   a    b\t\tc \t \n  \n\n   \r\n   x     ",
	"   leading and trailing   ",
	"\n\n\n\r\r\n\n \n",
	"\u0085x\u0085\u0085y \u00a0z\u00a0\u00a0 \u3000w\u2028v\u2029",
	"invalid \xff\xfe bytes \xc3\x28 and \xe2\x82 truncated \xed\xa0\x80 surrogate \xf4\x90\x80\x80",
	"\xff",
	"a\xffb",
	"!!!\n\n/// // /\n/\r\n/ ok",
	"(hello) [world] {x} <|endoftext|> <|fim_prefix|> <|endofprompt|>",
	"https://example.com/path/to/file?query=1&x=y#frag",
	"e\u0301 a\u0308 \u0301\u0301 x\u0301Y \u0301A\u0301b Ǆǅǆ ǅa ʰʰa ABCdef ABC'S ABC's aBC",
	"CamelCaseIdentifierHTTPServer parseJSONResponse XMLHttpRequest iOS macOS",
	"ǅungla ǅ ᾈ ᾈa Σίσυφος ΑΒΓ αβγ",
	"tab\tafter\tword \tx\t\ty",
	"\t\n\tfoo",
	strings.Repeat("a", 3000),
	strings.Repeat(" ", 3000),
	strings.Repeat("ab ", 1000),
	strings.Repeat("\n", 500) + "x",
	strings.Repeat("1", 100),
	strings.Repeat("!?", 300),
	strings.Repeat("é", 500),
	strings.Repeat("日本", 300),
	strings.Repeat("\xff", 50),
}

func TestDifferentialCorpus(t *testing.T) {
	texts := append([]string(nil), diffCorpus...)
	texts = append(texts, ownTexts(t)...)
	src, err := os.ReadFile("counter.go") // Go code with comments
	if err != nil {
		t.Fatal(err)
	}
	texts = append(texts, string(src))
	for _, enc := range testEncodings {
		c := mustGet(t, enc)
		for _, text := range texts {
			if got, want := c.Count(text), refCount(t, enc, text); got != want {
				t.Errorf("%s: Count(%.80q) = %d, tiktoken-go %d", enc, text, got, want)
			}
		}
	}
}

// maxFuzzLen bounds fuzz inputs because tiktoken-go's merge is quadratic in
// the piece length: at 4 KB one execution can take tens of milliseconds and
// the fuzzer then spends minutes minimising each new input. Long pieces are
// covered by TestHeapMatchesSmallMerge and the corpus above; the linear
// behaviour of our side is shown by benchmarks.
const maxFuzzLen = 1024

func FuzzCountMatchesTiktoken(f *testing.F) {
	for _, s := range diffCorpus {
		if len(s) <= maxFuzzLen {
			f.Add(s)
		}
	}
	cl, o2 := mustGet(f, "cl100k_base"), mustGet(f, "o200k_base")
	reference(f, "cl100k_base")
	f.Fuzz(func(t *testing.T, s string) {
		if len(s) > maxFuzzLen {
			return
		}
		if got, want := cl.Count(s), refCount(t, "cl100k_base", s); got != want {
			t.Errorf("cl100k_base: Count(%q) = %d, tiktoken-go %d", s, got, want)
		}
		if got, want := o2.Count(s), refCount(t, "o200k_base", s); got != want {
			t.Errorf("o200k_base: Count(%q) = %d, tiktoken-go %d", s, got, want)
		}
	})
}

// TestHeapMatchesSmallMerge checks the heap merge against tiktoken's own
// algorithm (mergeSmall) on pieces of up to 300 bytes, built from small
// alphabets so that equal ranks and long merge chains are frequent. The
// fuzzer rarely produces pieces long enough to reach the heap path.
func TestHeapMatchesSmallMerge(t *testing.T) {
	const maxLen = 300
	rng := rand.New(rand.NewPCG(7, 7))
	alphabets := []string{"a", "ab", " ", " \t", "0", "ae ", "abcdefgh", "\xe4\xbd\xa0\xe5\xa5\xbd"}
	for _, enc := range testEncodings {
		c := mustGet(t, enc)
		sc := c.pool.Get().(*scratch)
		// mergeSmall works at any length given room; it is the reference.
		ref := &scratch{pos: make([]int32, maxLen+1), rank: make([]uint32, maxLen+1)}
		// Pieces where no adjacent pair is a token leave the heap empty.
		for _, p := range []string{strings.Repeat("\xff", 60), strings.Repeat("\x00\xff", 40)} {
			if got := c.mergeHeap(p, sc); got != len(p) {
				t.Fatalf("%s %q: mergeHeap %d, want %d", enc, p, got, len(p))
			}
		}
		for iter := 0; iter < 3000; iter++ {
			alpha := alphabets[iter%len(alphabets)]
			b := make([]byte, 2+rng.IntN(maxLen-1))
			for i := range b {
				b[i] = alpha[rng.IntN(len(alpha))]
			}
			p := string(b)
			if small, heap := c.mergeSmall(p, ref), c.mergeHeap(p, sc); small != heap {
				t.Fatalf("%s %q: mergeSmall %d, mergeHeap %d", enc, p, small, heap)
			}
		}
		c.pool.Put(sc)
	}
}

// TestConcurrentCount shares counters and their scratch pools between
// goroutines; run it under -race.
func TestConcurrentCount(t *testing.T) {
	for _, enc := range testEncodings {
		c := mustGet(t, enc)
		want := make([]int, len(diffCorpus))
		for i, s := range diffCorpus {
			want[i] = c.Count(s)
		}
		var wg sync.WaitGroup
		errs := make(chan string, 8)
		for g := 0; g < 8; g++ {
			wg.Go(func() {
				for round := 0; round < 5; round++ {
					for i := range diffCorpus {
						// Rotate the order so goroutines interleave differently.
						k := (i + g + round) % len(diffCorpus)
						if got := c.Count(diffCorpus[k]); got != want[k] {
							errs <- fmt.Sprintf("%s text %d: got %d, want %d", enc, k, got, want[k])
							return
						}
					}
				}
			})
		}
		wg.Wait()
		close(errs)
		for e := range errs {
			t.Error(e)
		}
	}
}
