package injection

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

const dataDir = "../../../../shared/data/prompt-injection"

// dataFiles are the public sets; the sealed evaluation set is never read.
var dataFiles = []string{"deepset_train.jsonl", "inthewild_jailbreaks_dev.jsonl", "notinject_one.jsonl", "wildguard_benign_dev.jsonl"}

type row struct {
	ID    string `json:"id"`
	Text  string `json:"text"`
	Label int    `json:"label"`
	file  string
}

func loadRows(t testing.TB) []row {
	t.Helper()
	var rows []row
	for _, name := range dataFiles {
		f, err := os.Open(filepath.Join(dataDir, name))
		if err != nil {
			t.Fatalf("public test data missing: %v", err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(nil, 4<<20)
		for sc.Scan() {
			var r row
			if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			r.file = name
			rows = append(rows, r)
		}
		f.Close()
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
	}
	if len(rows) < 1400 {
		t.Fatalf("only %d rows read", len(rows))
	}
	return rows
}

// examples turns rows into weighted training examples: each class gets half the total
// weight, and within each class each file gets an equal share, so the small hard-negative
// set (NotInject) counts as much as the large ones, and the short deepset injections as
// much as the long in-the-wild jailbreaks.
func examples(rows []row) []Example {
	negPerFile := map[string]int{}
	posPerFile := map[string]int{}
	for _, r := range rows {
		if r.Label == 1 {
			posPerFile[r.file]++
		} else {
			negPerFile[r.file]++
		}
	}
	exs := make([]Example, len(rows))
	for i, r := range rows {
		w := float64(len(rows)) / 2 / float64(len(posPerFile)) / float64(posPerFile[r.file])
		if r.Label == 0 {
			w = float64(len(rows)) / 2 / float64(len(negPerFile)) / float64(negPerFile[r.file])
		}
		exs[i] = Example{Text: r.Text, Label: r.Label == 1, Weight: w}
	}
	return exs
}

type rates struct{ flagged, total int }

func (r rates) rate() float64 {
	if r.total == 0 {
		return 0
	}
	return float64(r.flagged) / float64(r.total)
}

// tally scores rows with d and returns flagged/total per file and label.
func tally(d *Detector, rows []row, out map[string]*rates) {
	for _, r := range rows {
		k := r.file
		if r.Label == 1 {
			k += " (attacks)"
		} else {
			k += " (benign)"
		}
		if out[k] == nil {
			out[k] = &rates{}
		}
		out[k].total++
		if d.Score(r.Text).Score >= d.opt.Threshold {
			out[k].flagged++
		}
	}
}
