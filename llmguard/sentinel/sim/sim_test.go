package sim

import (
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// The model meets the targets on the simulated personas: every attack elevated
// within 200 of its requests and high before 1,000; no ordinary persona quarantined, at
// most one elevated episode per 10 identity-days. Three seeds, so that the figures do not
// rest on one lucky draw.
func TestPersonas(t *testing.T) {
	for _, seed := range []uint64{1, 2, 3} {
		rep, err := Run(Generate(seed), newModelTarget())
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		rep.Write(&b)
		if miss := rep.Check(); len(miss) > 0 {
			t.Errorf("seed %d misses the targets:\n%s\n%s", seed, strings.Join(miss, "\n"), b.String())
		} else if seed == 1 {
			t.Logf("seed 1:\n%s", b.String())
		}
	}
}

func newModelTarget() *ModelTarget {
	keys := map[string]bool{}
	for _, e := range Generate(1) {
		if e.Identity != "" {
			keys[e.Identity] = true
		}
	}
	return &ModelTarget{Model: sentinel.NewModel(sentinel.Config{}), Store: sentinel.NewMemoryStore(), Keys: keys}
}
