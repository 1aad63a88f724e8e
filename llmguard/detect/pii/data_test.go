//go:build eval

package pii

import (
	"bufio"
	"encoding/json"
	"os"
	"sort"
	"testing"
)

const presidioCases = "../../../../shared/data/pii-secrets/presidio_recognizer_cases.jsonl"

type presidioCase struct {
	Entity        string   `json:"entity"`
	Text          string   `json:"text"`
	ExpectedCount int      `json:"expected_count"`
	ExpectedSpans [][2]int `json:"expected_spans"`
}

// TestPresidioCases measures precision and recall per entity on Presidio's own recogniser
// test literals. Spans there are Python character offsets; the texts are ASCII, so they
// equal our byte offsets. Rows without spans are scored on the count. Presidio runs some
// phone texts under several default regions, so the same text appears with different
// expectations; such rows are scored once, against the most inclusive expectation.
func TestPresidioCases(t *testing.T) {
	f, err := os.Open(presidioCases)
	if err != nil {
		t.Fatalf("public test data missing: %v", err)
	}
	defer f.Close()
	type score struct{ tp, fp, fn, rows int }
	scores := map[string]*score{}
	d := New()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	var cases []presidioCase
	seen := map[[2]string]int{}
	for sc.Scan() {
		var c presidioCase
		if err := json.Unmarshal(sc.Bytes(), &c); err != nil {
			t.Fatal(err)
		}
		k := [2]string{c.Entity, c.Text}
		if i, ok := seen[k]; ok {
			if c.ExpectedCount > cases[i].ExpectedCount {
				cases[i] = c
			}
			continue
		}
		seen[k] = len(cases)
		cases = append(cases, c)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(cases) < 400 {
		t.Fatalf("only %d Presidio cases read", len(cases))
	}
	for _, c := range cases {
		known := false
		for _, e := range AllEntities {
			known = known || e == c.Entity
		}
		if !known {
			continue // URL and CRYPTO are not in scope
		}
		s := scores[c.Entity]
		if s == nil {
			s = &score{}
			scores[c.Entity] = s
		}
		s.rows++
		var got [][2]int
		for _, fd := range d.Detect(c.Text, nil) {
			if fd.Type == c.Entity {
				got = append(got, [2]int{fd.Start, fd.End})
			}
		}
		tp, fp, fn := matchSpans(got, c.ExpectedSpans, c.ExpectedCount)
		s.tp += tp
		s.fp += fp
		s.fn += fn
		if fp+fn > 0 && testing.Verbose() {
			t.Logf("miss %s: %q want %v (%d) got %v", c.Entity, c.Text, c.ExpectedSpans, c.ExpectedCount, got)
		}
	}
	ents := make([]string, 0, len(scores))
	for e := range scores {
		ents = append(ents, e)
	}
	sort.Strings(ents)
	for _, e := range ents {
		s := scores[e]
		p := ratio(s.tp, s.tp+s.fp)
		r := ratio(s.tp, s.tp+s.fn)
		t.Logf("%-14s rows=%3d tp=%3d fp=%2d fn=%2d precision=%.3f recall=%.3f", e, s.rows, s.tp, s.fp, s.fn, p, r)
		if p < 0.95 || r < 0.95 {
			t.Errorf("%s: precision %.3f recall %.3f, want both >= 0.95", e, p, r)
		}
	}
}

func ratio(a, b int) float64 {
	if b == 0 {
		return 1
	}
	return float64(a) / float64(b)
}

func matchSpans(got, want [][2]int, count int) (tp, fp, fn int) {
	if len(want) == 0 && count > 0 {
		if len(got) >= count {
			return count, len(got) - count, 0
		}
		return len(got), 0, count - len(got)
	}
	used := make([]bool, len(got))
	for _, w := range want {
		hit := false
		for i, g := range got {
			if !used[i] && g == w {
				used[i], hit = true, true
				break
			}
		}
		if hit {
			tp++
		} else {
			fn++
		}
	}
	for _, u := range used {
		if !u {
			fp++
		}
	}
	return tp, fp, fn
}
