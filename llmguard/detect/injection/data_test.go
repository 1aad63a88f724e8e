//go:build eval

package injection

import (
	"math"
	"testing"
)

const dataDir = "../../../../shared/data/prompt-injection"

// handFiles are hand-written sets in testdata/ with the surface of ordinary LLM API
// traffic: benign RAG templates, task framing, editing instructions and developer
// questions (hard_negatives.jsonl), and attacks written to look like them
// (hard_attacks.jsonl), so the model learns the difference rather than a lower score.
var handFiles = []string{"hard_negatives.jsonl", "hard_attacks.jsonl"}

// fileShare is a file's share of its class's weight relative to a public file (1). The
// hand-written attacks weigh 0.3: they cover many styles the public sets lack (secret
// games, indirect injections, leaks, delimiters, payload splitting, FR/ES/IT overrides,
// refusal suppression) in ordinary words, and at a full share those words cost the
// everyday hard negatives and wildguard about a point of false positives each.
var fileShare = map[string]float64{"hard_negatives.jsonl": 1, "hard_attacks.jsonl": 0.3}

// groupWeight scales the training weight of a hand-written row by its group (rows without
// a group weigh 1); a file's share is spread over its rows in proportion. The persona group
// (role-play and role assignment: "act as …", "pretend you are …", "du bist jetzt …") is the
// gray zone that the public deepset set labels as attacks: its rows are scored in
// cross-validation but not trained on. Training on them, even at a tenth of the weight,
// cost deepset 3–4 points of recall at the same false-positive levels.
var groupWeight = map[string]float64{"persona": 0}

type row struct {
	ID    string `json:"id"`
	Text  string `json:"text"`
	Label int    `json:"label"`
	// Group classifies a hand-written hard negative: rag, editing, idiom, developer, quoted,
	// persona, newtask or other; or the style of a hand-written attack: secret, indirect,
	// leak, delimiter, split, translate, multilingual, refusal (reported per group and
	// together as "styles"; the first 60 attacks have no group).
	Group string `json:"group"`
	file  string
}

// loadRows returns the training rows: every public source (publicSources, without
// BIPIA's off-task "attacks") and the hand-written sets. The everyday gate
// (testdata/everyday.jsonl) is never trained on.
func loadRows(t *testing.T) []row {
	t.Helper()
	all := loadAll(t)
	var rows []row
	for _, name := range sourceOrder() {
		rows = append(rows, trainable(all[name])...)
	}
	if len(rows) < 6000 {
		t.Fatalf("only %d rows read", len(rows))
	}
	return rows
}

// examples turns rows into weighted training examples: each class gets half the total
// weight, and within each class each file gets a share (fileShare, 1 for the public sets),
// so the small hard-negative sets (NotInject, the hand-written one) count as much as the
// large ones, and the short deepset injections as much as the long in-the-wild jailbreaks.
// Within a file, rows weigh in proportion to their group's weight (groupWeight).
func examples(rows []row) []Example { return sizedExamples(rows, 0) }

// sizedExamples is examples with each file's share of its class multiplied by its
// (group-weighted) row count to the power sizePow: 0 is examples (every file the same
// share), 1 weighs every row of a class the same, 0.5 is between (TestLOSOCandidates).
func sizedExamples(rows []row, sizePow float64) []Example {
	key := func(r row) string { return r.file + string(rune('0'+r.Label)) }
	perFile := map[string]float64{}
	for _, r := range rows {
		perFile[key(r)] += rowWeight(r)
	}
	part := func(r row) float64 { return share(r.file) * math.Pow(perFile[key(r)], sizePow) }
	seen := map[string]bool{}
	classShares := [2]float64{}
	for _, r := range rows {
		if !seen[key(r)] {
			seen[key(r)] = true
			classShares[r.Label] += part(r)
		}
	}
	exs := make([]Example, len(rows))
	for i, r := range rows {
		n := perFile[key(r)]
		w := 0.0
		if n > 0 {
			w = float64(len(rows)) / 2 * part(r) / classShares[r.Label] * rowWeight(r) / n
		}
		exs[i] = Example{Text: r.Text, Label: r.Label == 1, Weight: w, Source: r.file}
	}
	return exs
}

func rowWeight(r row) float64 {
	if w, ok := groupWeight[r.Group]; ok && r.Group != "" {
		return w
	}
	return 1
}

func share(file string) float64 {
	if s, ok := fileShare[file]; ok {
		return s
	}
	return 1
}
