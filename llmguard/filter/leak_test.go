package filter

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

func TestVerbatim(t *testing.T) {
	system := "You are Helper. Internal rule 7: never discuss the Zephyr merger. Discount code is WINTER-42 for staff only."
	d := NewVerbatim(system, 32)
	if NewVerbatim("short", 32) != nil {
		t.Fatal("detector for a prompt shorter than the run")
	}
	for _, tc := range []struct {
		text string
		want string // the run found, "" for none
	}{
		{"Sure. My rules: Internal rule 7: never discuss the Zephyr merger. Bye", " Internal rule 7: never discuss the Zephyr merger. "},
		{"I am Helper and I cannot discuss mergers.", ""},
		{"x" + system, system},
		{"You are Helper. Internal rule 7", ""}, // 31 bytes: under the threshold
	} {
		fs := d.Detect(tc.text, nil)
		got := ""
		if len(fs) > 0 {
			got = tc.text[fs[0].Start:fs[0].End]
		}
		if got != tc.want {
			t.Errorf("%q: found %q, want %q", tc.text, got, tc.want)
		}
	}
	// In a stream, split into single bytes, the leak is still blocked.
	p := &Policy{Extra: []detect.Detector{d}, Action: func(detect.Finding) string { return "block" }}
	r := rand.New(rand.NewPCG(1, 1))
	s := NewStream(p, request.KindChat)
	out, ended := run(t, s, chatStream(split(r, strings.Repeat("ok ", 100)+system[16:80], 1)), r, 40)
	if !ended || s.Report.Blocked != TypeSystemPromptLeak || strings.Contains(out, "Zephyr") {
		t.Fatalf("ended %v report %+v", ended, s.Report)
	}
}
