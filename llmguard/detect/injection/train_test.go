package injection

import (
	"bytes"
	"flag"
	"os"
	"sort"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite model.bin from the public data")

// TestRegenerateModel retrains the model on all public and hand-written rows. Without -update it checks
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

// TestCrossValidation trains on four fifths of the public and hand-written rows and scores
// the held-out fifth (rules + model, default threshold), five times, so the figures estimate how the
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
	// deepset attacks 91.1%, jailbreaks 93.9%, hand-written attacks 93.4% (the 76 of the
	// styles the public sets lack: 90.8%); false positives 2.0%, 1.8%, 2.7% on the public
	// benign sets (the requirement: at most 3% each); on the hand-written hard negatives
	// 12.5% overall: RAG 0%, editing 7.0%, idioms 0%, developer questions 6.6% (4.4%
	// together), texts quoting instructions 25.9%, role-play requests (not trained on) 38.5%.
	report(t, "5-fold CV", out, 0.90, 0.03)
	floors := map[string]float64{
		"inthewild_jailbreaks_dev.jsonl (attacks)": 0.93,
		"hard_attacks.jsonl (attacks)":             0.92,
		"hard_attacks.jsonl [styles] (attacks)":    0.89,
	}
	for k, floor := range floors {
		if r := out[k]; r == nil || r.rate() < floor {
			t.Errorf("5-fold CV: %s below %.2f: %+v", k, floor, r)
		}
	}
	for _, k := range []string{"rag", "editing", "idiom", "developer", "rag+editing+idiom+developer", "quoted", "persona"} {
		if out["hard_negatives.jsonl ["+k+"] (benign)"] == nil {
			t.Errorf("5-fold CV: no hard negatives in group %s", k)
		}
	}
}

// TestShippedModel scores all public and hand-written rows with the shipped detector. These
// rows were used for training, so the figures are optimistic; the CV figures are the honest
// ones.
func TestShippedModel(t *testing.T) {
	out := map[string]*rates{}
	tally(New(Options{}), loadRows(t), out)
	report(t, "shipped (in-sample)", out, 0.90, 0.03)
}

// maxHardFP are the false-positive ceilings on the hand-written hard negatives, overall and
// per group (held out: 12.5% overall; RAG 0%, editing 7.0%, idioms 0%, developer 6.6%,
// together 4.4%; quoted instructions 25.9%; role-play 38.5%; the three-row groups newtask
// and other 1/3). Role-play requests are the gray zone the public deepset set labels as
// attacks, so they are not trained on and most stay flagged. The editing and developer
// groups hold benign twins of the hand-written attack styles ("spell 'necessary'
// backwards", "never say 'utilize'", "reverse a string and print it", "how should I store
// passwords"), hence their higher ceilings.
var maxHardFP = map[string]float64{
	"hard_negatives.jsonl (benign)":                               0.14,
	"hard_negatives.jsonl [rag] (benign)":                         0.05,
	"hard_negatives.jsonl [editing] (benign)":                     0.075,
	"hard_negatives.jsonl [idiom] (benign)":                       0.05,
	"hard_negatives.jsonl [developer] (benign)":                   0.07,
	"hard_negatives.jsonl [rag+editing+idiom+developer] (benign)": 0.045,
	"hard_negatives.jsonl [quoted] (benign)":                      0.27,
	"hard_negatives.jsonl [persona] (benign)":                     0.42,
	"hard_negatives.jsonl [newtask] (benign)":                     0.34,
	"hard_negatives.jsonl [other] (benign)":                       0.34,
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
		t.Logf("%s %-60s flagged %4d/%4d = %.3f", what, k, r.flagged, r.total, r.rate())
		attack := bytes.HasSuffix([]byte(k), []byte("(attacks)"))
		if attack && !strings.Contains(k, " [") && r.rate() < minDetect {
			t.Errorf("%s: detection %.3f < %.2f", k, r.rate(), minDetect)
		}
		limit := maxFP
		if l, ok := maxHardFP[k]; ok {
			limit = max(l, maxFP)
		} else if strings.HasPrefix(k, "hard_negatives.jsonl [") {
			t.Errorf("%s: no false-positive ceiling for this group", k)
		}
		if !attack && r.rate() > limit {
			t.Errorf("%s: false positives %.3f > %.3f", k, r.rate(), limit)
		}
	}
}
