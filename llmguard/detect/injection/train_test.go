package injection

import (
	"bytes"
	"flag"
	"os"
	"sort"
	"testing"
)

var update = flag.Bool("update", false, "rewrite model.bin from the public data")

// TestRegenerateModel retrains the model on all public rows. Without -update it checks
// that training reproduces the embedded model byte for byte, which proves the shipped
// weights come from this code and data. Regenerate with:
//
//	CGO_ENABLED=0 go test ./llmguard/detect/injection -run TestRegenerateModel -args -update
func TestRegenerateModel(t *testing.T) {
	if testing.Short() {
		t.Skip("training takes a few seconds")
	}
	m := train(examples(loadRows(t)), DefaultTrainOptions)
	b := encodeModel(m)
	if *update {
		if err := os.WriteFile("model.bin", b, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(b, modelBin) {
		t.Fatal("model.bin is stale or training is not deterministic; run with -update")
	}
}

// TestCrossValidation trains on four fifths of the public rows and scores the held-out
// fifth (rules + model, default threshold), five times, so the figures estimate how the
// detector does on rows it has not seen. Folds are stratified by file and label.
func TestCrossValidation(t *testing.T) {
	if testing.Short() {
		t.Skip("cross-validation trains five models")
	}
	rows := loadRows(t)
	const k = 5
	fold := make([]int, len(rows))
	seen := map[string]int{}
	for i, r := range rows {
		key := r.file + string(rune('0'+r.Label))
		fold[i] = seen[key] % k
		seen[key]++
	}
	out := map[string]*rates{}
	for f := 0; f < k; f++ {
		var tr, te []row
		for i, r := range rows {
			if fold[i] == f {
				te = append(te, r)
			} else {
				tr = append(tr, r)
			}
		}
		m := train(examples(tr), DefaultTrainOptions)
		d := New(Options{})
		d.model = m
		tally(d, te, out)
	}
	// Regression floors just under the measured CV level (see the package README figures):
	// deepset attacks 90.6%, jailbreaks 92.2%, benign sets 0.6%, 0% and 1.4%.
	report(t, "5-fold CV", out, 0.90, 0.02)
	if r := out["inthewild_jailbreaks_dev.jsonl (attacks)"]; r == nil || r.rate() < 0.91 {
		t.Errorf("5-fold CV: jailbreak detection below 0.91: %+v", r)
	}
}

// TestShippedModel scores all public rows with the shipped detector. These rows were
// used for training, so the figures are optimistic; the CV figures are the honest ones.
func TestShippedModel(t *testing.T) {
	out := map[string]*rates{}
	tally(New(Options{}), loadRows(t), out)
	report(t, "shipped (in-sample)", out, 0.90, 0.03)
}

func report(t *testing.T, what string, out map[string]*rates, minDetect, maxFP float64) {
	t.Helper()
	keys := make([]string, 0, len(out))
	for k := range out {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := out[k]
		t.Logf("%s %-45s flagged %4d/%4d = %.3f", what, k, r.flagged, r.total, r.rate())
		attack := bytes.HasSuffix([]byte(k), []byte("(attacks)"))
		if attack && r.rate() < minDetect {
			t.Errorf("%s: detection %.3f < %.2f", k, r.rate(), minDetect)
		}
		if !attack && r.rate() > maxFP {
			t.Errorf("%s: false positives %.3f > %.2f", k, r.rate(), maxFP)
		}
	}
}
