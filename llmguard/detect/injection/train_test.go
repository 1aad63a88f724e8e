//go:build eval

package injection

import (
	"bytes"
	"flag"
	"os"
	"testing"
)

var update = flag.Bool("update", false, "rewrite model.bin from the public data")

// TestRegenerateModel retrains the model on all public and hand-written rows. Without -update it checks
// that training reproduces the embedded model byte for byte, which proves the shipped
// weights come from this code and data. Regenerate with:
//
//	CGO_ENABLED=0 go test ./llmguard/detect/injection -run TestRegenerateModel -args -update
func TestRegenerateModel(t *testing.T) {
	m := train(examples(loadRows(t)), DefaultTrainOptions)
	// The calibrator is fitted on leave-one-source-out scores: they are what the model's
	// scores look like on traffic from a source it was not trained on.
	m.calA, m.calB = fitPlatt(logits(losoScores(loadAll(t), DefaultTrainOptions)))
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
