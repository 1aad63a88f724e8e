package filter

import (
	"math/rand/v2"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/defaults"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/patterns"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/pii"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/secrets"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
	"github.com/llmguard/caddy-llmguard/llmguard/sse"
)

const testCanary = "llmguard-canary-0123456789abcdef01234567"

// litDetector finds a literal anywhere (like llm_filter's canary) and bounds its tail.
type litDetector string

func (l litDetector) Name() string { return "lit" }
func (l litDetector) Detect(text string, dst []detect.Finding) []detect.Finding {
	for i := 0; ; {
		j := strings.Index(text[i:], string(l))
		if j < 0 {
			return dst
		}
		i += j
		dst = append(dst, detect.Finding{Detector: "lit", Type: TypeSystemPromptLeak, Start: i, End: i + len(l), Score: 1})
		i += len(l)
	}
}
func (l litDetector) HoldFrom(text string) int { return LiteralHold(text, string(l), false) }

const testSystem = "You are Helper. Internal rule 7: never discuss the Zephyr merger with anyone. Discount code is WINTER-42."

// holdPolicy has every kind of detector whose tail the filter bounds: PII, secrets, a
// case-insensitive multi-word literal deny pattern, a canary and system-prompt runs.
func holdPolicy(t testing.TB) *Policy {
	cfg := defaults.Config{DisableInjection: true, Deny: []patterns.Rule{
		{Pattern: "Project Zephyr Falcon", Literal: true, CaseInsensitive: true, Type: "CODENAME"},
		{Pattern: "tiger team", Literal: true, Type: "CODENAME"},
	}}
	set, err := defaults.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &Policy{Set: set, Extra: []detect.Detector{litDetector(testCanary), NewVerbatim(testSystem, 24)}}
	if !p.plan().adaptive {
		t.Fatal("policy of literal patterns and holders is not adaptive")
	}
	return p
}

// holdValues are findings (or near-findings) that span several tokens or only become
// findings once complete.
var holdValues = []string{
	"alice.smith@example.com",
	"+1 415 555 0132",
	"(415) 555-0132",
	"4111 1111 1111 1111",
	"DE89 3704 0044 0532 0130 00",
	"GB82 WEST 1234 5698 7654 32",
	"078-05-1120",
	"fe80::1ff:fe23:4567:890a",
	"password = hunter2secret",
	`db_password: "correct horse 9 battery"`,
	"api_key=Zx8Qw2Er4Ty6Ui8Op0As2Df4",
	"sk-proj-aB3dE5fG7hJ9kL1mN3pQ5rS7tU9vW1xY3zA5bC7dE9fG1hJ3kL5",
	"eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c",
	"-----BEGIN RSA PRIVATE KEY-----\nMIIEpAIBAAKCAQEA0Z3VS5JJcds3xfn/ygWyF8PbnGy0AHB7MhgHcTz6sE2I2yPB\naFDrBz9vFqU4yP4p\n-----END RSA PRIVATE KEY-----",
	"Authorization: Bearer abcDEF0123456789ghiJKL",
	`Authorization: Bearer abcDEF0123456789ghiJKL = db_password: "correct horse 9 battery"`,
	"curl -u admin:S3cretPassw0rd https://api.example.com",
	`{"type": "service_account", "project_id": "x"}`,
	"public key: AbC123xYz987QwErTy654UiOpLk",
	"the token AbC123xYz987QwErTy654UiOpLk works",
	"see PROJECT zephyr FALCON now",
	"the tiger team met",
	testCanary,
	"Internal rule 7: never discuss the Zephyr merger",
	"10.20.30.40",
}

// TestHoldSplitEverywhere: each value, split into two deltas at every position (and
// streamed byte by byte after it), filters exactly like the whole text.
func TestHoldSplitEverywhere(t *testing.T) {
	p := holdPolicy(t)
	for _, w := range []int{0, 200} { // windows above the longest value
		p.Window = w
		for _, v := range holdValues {
			pre := "Some intro words, then: "
			post := " and more words after it. Done."
			text := pre + v + post
			want, _ := p.Text(text, &Report{})
			for k := 0; k <= len(v); k++ {
				if !utf8.RuneStart(v[min(k, len(v)-1)]) && k < len(v) {
					continue
				}
				chunks := append(strings.SplitAfter(pre, " "), v[:k])
				for _, c := range v[k:] {
					chunks = append(chunks, string(c))
				}
				chunks = append(chunks, strings.SplitAfter(post, " ")...)
				r := rand.New(rand.NewPCG(uint64(k), 1))
				out, _ := run(t, NewStream(p, request.KindChat), chatStream(chunks), r, 1+r.IntN(300))
				if got := collect(t, request.KindChat, out).text; got != want {
					t.Fatalf("window %d value %q split at %d:\n got %q\nwant %q", w, v, k, got, want)
				}
			}
		}
	}
}

// TestHoldProperty: random chunkings of a text of all values.
func TestHoldProperty(t *testing.T) {
	p := holdPolicy(t)
	text := "Start. " + strings.Join(holdValues, " then ") + " end."
	want, _ := p.Text(text, &Report{})
	for seed := uint64(0); seed < 120; seed++ {
		r := rand.New(rand.NewPCG(seed, 3))
		maxDelta := []int{1, 2, 3, 7, 40}[seed%5]
		out, _ := run(t, NewStream(p, request.KindChat), chatStream(split(r, text, maxDelta)), r, 1+r.IntN(200))
		if got := collect(t, request.KindChat, out).text; got != want {
			t.Fatalf("seed %d delta ≤%d:\n got %q\nwant %q", seed, maxDelta, got, want)
		}
	}
}

// firstText feeds text as deltas of n bytes and returns how many bytes had been fed when
// the first text reached the output, and that text.
func firstText(t *testing.T, p *Policy, text string, n int) (int, string) {
	t.Helper()
	s := NewStream(p, request.KindChat)
	var chunks []string
	for i := 0; i < len(text); i += n {
		chunks = append(chunks, text[i:min(i+n, len(text))])
	}
	var ps sse.Parser
	fed := 0
	first := ""
	done := false
	_ = ps.Feed([]byte(chatStream(chunks)), func(ev *sse.Event) error {
		if done {
			return nil
		}
		if d, ok := decode(ev.Data); ok {
			if ch, ok := d["choices"].([]any); ok && len(ch) > 0 {
				if c, ok := ch[0].(map[string]any)["delta"].(map[string]any)["content"].(string); ok {
					fed += len(c)
				}
			}
		}
		out, _ := s.Event(ev, ev.Raw)
		if got := collect(t, request.KindChat, string(out)).text; got != "" {
			first, done = got, true
		}
		return nil
	})
	return fed, first
}

// TestHoldFirstWord: plain prose is released at its first word boundary, not after a
// window of text.
func TestHoldFirstWord(t *testing.T) {
	text := strings.Repeat("The quick brown fox jumps over the lazy dog. ", 20)
	for _, p := range []*Policy{testPolicy(t), holdPolicy(t)} {
		fed, first := firstText(t, p, text, 1)
		if first != "The" || fed > 5 {
			t.Fatalf("first text %q after %d bytes", first, fed)
		}
	}
	// A regular-expression deny pattern cannot be bounded: the full window is held.
	cfg := defaults.Config{DisableInjection: true, Deny: []patterns.Rule{{Pattern: `fox\s+jumps`}}}
	set, err := defaults.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p := &Policy{Set: set}
	if fed, _ := firstText(t, p, text, 1); fed <= DefaultWindow {
		t.Fatalf("regex policy released text after %d bytes", fed)
	}
	// So is a detector the filter does not know.
	p = &Policy{Extra: []detect.Detector{unknownDetector{}}}
	if fed, _ := firstText(t, p, text, 1); fed <= DefaultWindow {
		t.Fatalf("unknown detector: released text after %d bytes", fed)
	}
}

type unknownDetector struct{}

func (unknownDetector) Name() string                                           { return "unknown" }
func (unknownDetector) Detect(_ string, dst []detect.Finding) []detect.Finding { return dst }

func TestLiteralHold(t *testing.T) {
	for _, tc := range []struct {
		text, lit string
		fold      bool
		want      int
	}{
		{"abc Proj", "Project X", false, 4},
		{"abc proj", "Project X", false, 8},
		{"abc proj", "Project X", true, 4},
		{"abc Project ", "Project X", false, 4},
		{"abc", "Project X", false, 3},
		{"xx PROJECT x", "project x", true, 3},
	} {
		if got := LiteralHold(tc.text, tc.lit, tc.fold); got != tc.want {
			t.Errorf("LiteralHold(%q, %q, %v) = %d, want %d", tc.text, tc.lit, tc.fold, got, tc.want)
		}
	}
}

// wrapped is a detector that configures another, as the Caddy detector modules do.
type wrapped struct{ detect.Detector }

func (w wrapped) Unwrap() detect.Detector { return w.Detector }

// TestPlanSeesThroughWrappers: built-in detectors and literal pattern lists wrapped by
// modules (detectors and allow-list) keep the adaptive hold-back; an unknown detector
// does not.
func TestPlanSeesThroughWrappers(t *testing.T) {
	lits, err := patterns.Compile([]patterns.Rule{{Pattern: "Blue Falcon", Literal: true, Type: "X"}}, []patterns.Rule{{Pattern: "ok@example.com", Literal: true}})
	if err != nil {
		t.Fatal(err)
	}
	set := &detect.Set{Detectors: []detect.Detector{wrapped{pii.New()}, wrapped{secrets.New(secrets.Options{})}, wrapped{lits}},
		Allow: detect.Allowlists{wrappedAllow{wrapped{lits}}}}
	p := &Policy{Set: set}
	if hp := p.plan(); !hp.adaptive || !hp.builtin || len(hp.lits) != 2 {
		t.Fatalf("plan %+v", hp)
	}
	p = &Policy{Set: &detect.Set{Detectors: []detect.Detector{wrapped{unknownDetector{}}}}}
	if p.plan().adaptive {
		t.Fatal("unknown wrapped detector is adaptive")
	}
}

type wrappedAllow struct{ wrapped }

func (w wrappedAllow) AllowedSpans(text string, dst [][2]int) [][2]int {
	return w.Detector.(*patterns.List).AllowedSpans(text, dst)
}
