//go:build eval

package secrets

import (
	"bufio"
	"encoding/json"
	"os"
	"testing"
)

const gitleaksCases = "../../../../shared/data/pii-secrets/gitleaks_cases_dev.jsonl"

// TestGitleaksCases measures row-level precision and recall on gitleaks' own true- and
// false-positive literals: a row counts as flagged when any secret finding is reported.
func TestGitleaksCases(t *testing.T) {
	f, err := os.Open(gitleaksCases)
	if err != nil {
		t.Fatalf("public test data missing: %v", err)
	}
	defer f.Close()
	d := New(Options{})
	var tp, fp, fn, tn int
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var c struct {
			RuleID string `json:"rule_id"`
			Label  string `json:"label"`
			Text   string `json:"text"`
		}
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		fs := d.Detect(c.Text, nil)
		for _, x := range fs {
			if !x.Valid(c.Text) {
				t.Fatalf("invalid finding %+v", x)
			}
		}
		flagged := len(fs) > 0
		secret := c.Label == "secret"
		switch {
		case flagged && secret:
			tp++
		case flagged:
			fp++
			t.Logf("false positive %s: %+v", c.RuleID, fs)
		case secret:
			fn++
			t.Logf("missed %s", c.RuleID)
		default:
			tn++
		}
	}
	if tp+fn+fp+tn < 200 {
		t.Fatalf("only %d rows read", tp+fn+fp+tn)
	}
	p := float64(tp) / float64(tp+fp)
	r := float64(tp) / float64(tp+fn)
	t.Logf("gitleaks rows=%d secrets=%d tp=%d fp=%d fn=%d tn=%d precision=%.3f recall=%.3f", tp+fp+fn+tn, tp+fn, tp, fp, fn, tn, p, r)
	if p < 0.95 || r < 0.95 {
		t.Errorf("precision %.3f recall %.3f, want both >= 0.95", p, r)
	}
}
