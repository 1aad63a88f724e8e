package sse

import (
	"bytes"
	"fmt"
	"math/rand"
	"os"
	"path/filepath"
	"testing"
)

// ownFixtures returns the streams in testdata/: recordings of llm_mock's chat,
// completions, responses and messages streams (with usage, a length cut and mid-stream
// errors; regenerate them from a running llm_mock with curl -N) and hand-written edge
// cases. The public provider recordings are checked by the eval build (fixtures_eval_test.go).
func ownFixtures(t testing.TB) map[string][]byte {
	return loadStreams(t, "testdata", 5)
}

// loadStreams reads every .sse file in dir, by base name; fewer than min fails the test.
func loadStreams(t testing.TB, dir string, min int) map[string][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(dir, "*.sse"))
	if err != nil || len(paths) < min {
		t.Fatalf("SSE streams missing in %s (found %d, err %v)", dir, len(paths), err)
	}
	out := make(map[string][]byte, len(paths))
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(p)] = b
	}
	return out
}

func TestRandomSplitsOwn(t *testing.T) {
	checkRandomSplits(t, ownFixtures(t))
}

// TestOwnFixtureEvents pins what the parser makes of the hand-written edge cases.
func TestOwnFixtureEvents(t *testing.T) {
	r := feedChunks(new(Parser), ownFixtures(t)["edge-cases.sse"])
	if r.err != nil {
		t.Fatal(r.err)
	}
	var got []string
	for _, ev := range r.events {
		got = append(got, fmt.Sprintf("%s|%s|%d|%t|%s", ev.Name, ev.ID, ev.Retry, ev.Empty, ev.Data))
	}
	// A BOM is only stripped at the start of a stream: later it makes the field name
	// unknown, so that block has no data (Empty). "data" without a colon is an empty data
	// field; id and retry apply to their own block only.
	want := []string{
		`message_start||-1|false|{"type":"message_start"}`,
		"||-1|true|",
		"|7|1500|false|first line\nsecond line",
		"||-1|true|",
		"x||-1|false|CR only",
		"||-1|false|",
		"||-1|false|no space",
		"||-1|false|[DONE]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
}

// checkRandomSplits is the property test: any split of any stream (also in CRLF and CR
// form, also one byte at a time) gives the same events as feeding it whole, and the Raw
// bytes still add up to the input.
func checkRandomSplits(t *testing.T, fx map[string][]byte) {
	rng := rand.New(rand.NewSource(1))
	for name, body := range fx {
		for variant, in := range map[string][]byte{"LF": body, "CRLF": toCRLF(body), "CR": toCR(body)} {
			whole := feedChunks(new(Parser), in)
			if whole.err != nil {
				t.Fatalf("%s/%s: %v", name, variant, whole.err)
			}
			check := func(desc string, chunks [][]byte) {
				r := feedChunks(new(Parser), chunks...)
				if r.err != nil {
					t.Fatalf("%s/%s/%s: %v", name, variant, desc, r.err)
				}
				if err := sameEvents(whole.events, r.events); err != nil {
					t.Fatalf("%s/%s/%s: %v", name, variant, desc, err)
				}
				if !bytes.Equal(concatRaw(r), in) {
					t.Fatalf("%s/%s/%s: raw bytes do not reproduce the input", name, variant, desc)
				}
			}
			ones := make([][]byte, len(in))
			for i := range in {
				ones[i] = in[i : i+1]
			}
			check("1-byte", ones)
			for trial := 0; trial < 30; trial++ {
				var cuts []int
				for c := rng.Intn(40); c < len(in); c += 1 + rng.Intn(1+rng.Intn(300)) {
					cuts = append(cuts, c)
				}
				check(fmt.Sprintf("trial %d", trial), splitAt(in, cuts...))
			}
		}
	}
}

func toCRLF(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }
func toCR(b []byte) []byte   { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r")) }
