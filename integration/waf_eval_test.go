//go:build eval

package integration

import (
	"path/filepath"
	"testing"
)

// TestWAFFalsePositivesEval measures the CRS false-positive rate at paranoia levels 1 and
// 2, with and without examples/waf's LLM tuning (the README's table), on the benign rows
// of the public prompt sets in ../shared/data/prompt-injection and on our own fixtures,
// sent as chat completion bodies. The tuned rate must stay under 0.5%.
func TestWAFFalsePositivesEval(t *testing.T) {
	public, err := filepath.Glob("../../shared/data/prompt-injection/*.jsonl")
	if err != nil || len(public) == 0 {
		t.Fatalf("no prompt sets in ../../shared/data/prompt-injection (%v)", err)
	}
	sets := []struct {
		name    string
		prompts []wafPrompt
	}{
		{"public benign sets", readPrompts(t, public...)},
		{"everyday (ours)", readPrompts(t, everydayPrompts)},
		{"SQL/shell/HTML/code (ours)", readPrompts(t, technicalPrompts)},
	}
	for _, pl := range []int{1, 2} {
		for _, untuned := range []bool{true, false} {
			cfg, base := wafConfig(t, untuned, pl)
			start(t, cfg)
			for _, set := range sets {
				refused, total, ids := wafFalsePositives(t, base, set.prompts, llmShapes[:1])
				rate := 100 * float64(refused) / float64(total)
				t.Logf("PL%d untuned=%v %s: %d of %d refused (%.2f%%), e.g. %v", pl, untuned, set.name, refused, total, rate, ids)
				if !untuned && rate >= 0.5 {
					t.Errorf("PL%d with the LLM tuning refuses %.2f%% of %s; want < 0.5%%", pl, rate, set.name)
				}
			}
		}
	}
}
