package injection

import (
	"math"
	"sync"
)

// Feature hashing: word unigrams of the folded text, hashed (FNV-1a) into 2^hashBits
// buckets, plus a few text-level features (keyword classes, rules, layout cues) that carry
// most of the evidence in a form that generalises across phrasings and languages. A word
// occurrence has value 1, up to maxRepeat occurrences of one word per window, and a
// window's word vector is scaled by 1/sqrt(n), so scores grow neither with length nor with
// repetition. (Word bigrams and character 4-grams were tried: on held-out rows
// they memorise phrasing and dilute the keyword-class features, and cost more per byte.)
const (
	hashBits = 18
	hashMask = 1<<hashBits - 1
	// window is how many word occurrences one model evaluation sees; longer texts are
	// scored in half-overlapping windows and the maximum is kept, so an injection buried
	// in a long document is not diluted, at a constant cost per byte.
	window = 512
)

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func isTokByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80 }

// Layout flags found while tokenising (see features).
const (
	flagEscapedNewline = 1 << iota // a literal "\n": fake line breaks that fake a new prompt section
	flagFieldContext               // "context:", "document:", … — a pasted fake context block
	flagFieldIO                    // "input:", "output:", "question:", "instruction:", …
	flagFieldRole                  // "system:", "assistant:", "human:", … — a fake transcript
	numFlags           = iota
)

var flagNames = [numFlags]string{"escaped_newline", "field_context", "field_io", "field_role"}

// fieldLabels maps the FNV hash of a word to the flag it raises when directly followed by
// a colon.
var fieldLabels = func() map[uint32]uint32 {
	m := map[uint32]uint32{}
	add := func(flag uint32, words ...string) {
		for _, w := range words {
			h := uint32(fnvOffset)
			for i := 0; i < len(w); i++ {
				h = (h ^ uint32(w[i])) * fnvPrime
			}
			m[h] = flag
		}
	}
	add(flagFieldContext, "context", "kontext", "contexto", "document", "documents", "dokument",
		"dokumente", "article", "articles", "artikel", "text", "texte", "source", "sources", "quelle")
	add(flagFieldIO, "input", "output", "eingabe", "ausgabe", "question", "frage", "answer", "antwort",
		"instruction", "instructions", "anweisung", "anweisungen", "instruktion", "task", "aufgabe",
		"response", "command", "befehl", "note", "hinweis", "important", "wichtig", "update")
	add(flagFieldRole, "system", "assistant", "human", "user", "ai", "bot", "gpt", "chatgpt", "model",
		"admin", "developer", "nutzer", "benutzer", "assistent")
	return m
}()

// features calls emit for each hashed word occurrence of a folded text, in text order, and
// returns the layout flags it saw.
func features(folded string, emit func(h uint32)) (flags uint32) {
	for i := 0; i < len(folded); {
		c := folded[i]
		if !isTokByte(c) {
			if c == '\\' && i+1 < len(folded) && folded[i+1] == 'n' {
				flags |= flagEscapedNewline
			}
			i++
			continue
		}
		j := i
		h := uint32(fnvOffset)
		digits := true
		for j < len(folded) && isTokByte(folded[j]) && j-i < 64 {
			c := folded[j]
			digits = digits && c <= '9'
			h = (h ^ uint32(c)) * fnvPrime
			j++
		}
		for j < len(folded) && isTokByte(folded[j]) { // overlong token: skip the rest
			j++
		}
		if digits {
			// Numbers carry no phrasing; skipping them keeps digit-heavy input cheap.
			i = j
			continue
		}
		emit(h & hashMask)
		if j < len(folded) && folded[j] == ':' && j-i <= 12 {
			flags |= fieldLabels[h]
		}
		i = j
	}
	return flags
}

// model is a logistic regression over hashed features. Weights are kept quantised to
// int8 (weight = q*scale): 256 KiB stay in cache where float32 weights would not, and the
// random lookups per feature are the detector's main cost.
type model struct {
	bias  float64
	scale float64
	// calA, calB map the logit to a probability, sigmoid(calA*logit + calB): a Platt
	// calibrator fitted on leave-one-source-out scores (calibrate), so that the score
	// reads as a probability on sources the model was not trained on. train leaves 1, 0.
	calA, calB float64
	q          []int8
}

// prob is the calibrated probability of a logit.
func (m *model) prob(z float64) float64 { return sigmoid(m.calA*z + m.calB) }

// score returns the highest window logit over the text. extra are text-level features
// (the keyword classes and rules that fired, see ruleFeatures) with value 1 each; they
// are added to every window's logit unscaled, as are the layout flags.
func (m *model) score(folded string, extra []uint32) float64 {
	if m == nil || len(m.q) == 0 {
		return math.Inf(-1)
	}
	// Two interleaved windows offset by half a window give half-overlapping coverage. A
	// word counts at most maxRepeat times per window: otherwise a word with a positive
	// weight repeated n times would add sqrt(n) times its weight, and "hello hello hello
	// …" would read as an attack.
	sets := setPool.Get().(*[2]seenSet)
	defer setPool.Put(sets)
	seenA, seenB := &sets[0], &sets[1]
	seenA.reset()
	seenB.reset()
	var sumA, sumB int64
	var nA, nB int
	best := math.Inf(-1)
	flush := func(sum int64, n int) {
		if n == 0 {
			return
		}
		if s := float64(sum) / math.Sqrt(float64(n)); s > best {
			best = s
		}
	}
	total, totalB := 0, 0
	q := m.q
	flags := features(folded, func(h uint32) {
		w := int64(q[h])
		if seenA.add(h) <= maxRepeat {
			sumA += w
		}
		nA++
		if total >= window/2 {
			if seenB.add(h) <= maxRepeat {
				sumB += w
			}
			nB++
			totalB++
		}
		total++
		if total%window == 0 {
			flush(sumA, nA)
			sumA, nA = 0, 0
			seenA.reset()
		}
		if totalB > 0 && totalB%window == 0 {
			flush(sumB, nB)
			sumB, nB = 0, 0
			seenB.reset()
		}
	})
	// Trailing partial windows count only if they are the whole text or reasonably long,
	// so a few stray words at the end cannot decide alone.
	if total <= window || total%window >= window/4 {
		flush(sumA, nA)
	}
	if totalB%window >= window/4 {
		flush(sumB, nB)
	}
	if math.IsInf(best, -1) {
		best = 0 // no words at all
	}
	var ex int64
	for _, h := range extra {
		ex += int64(q[h])
	}
	for i := 0; i < numFlags; i++ {
		if flags&(1<<i) != 0 {
			ex += int64(q[flagFeat[i]])
		}
	}
	return m.bias + (float64(ex)+best)*m.scale
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// featHash hashes a named text-level feature into the model's bucket space.
func featHash(name string) uint32 {
	h := uint32(fnvOffset)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint32(name[i])) * fnvPrime
	}
	return (h * 0x85EBCA6B) & hashMask
}

// ruleFeat holds the text-level feature of each keyword class and rule; kwClass maps a
// keyword id to its class index in classNames.
var (
	classNames []string
	classFeat  []uint32
	// classStartFeat: the class's keyword opens a sentence ("Ignore …", "You are …",
	// "Stop. …"), where an instruction to the model usually stands.
	classStartFeat []uint32
	ruleFeat       = map[string]uint32{}
	flagFeat       [numFlags]uint32
)

func init() {
	for cl := range classes {
		classNames = append(classNames, cl)
	}
	sortStrings(classNames)
	if len(classNames) > 64 {
		panic("injection: too many keyword classes")
	}
	for _, cl := range classNames {
		classFeat = append(classFeat, featHash("class:"+cl))
		classStartFeat = append(classStartFeat, featHash("start:"+cl))
	}
	initRules()
	for i, n := range flagNames {
		flagFeat[i] = featHash("layout:" + n)
	}
	for _, pr := range pairRules {
		ruleFeat[pr.name] = featHash("rule:" + pr.name)
	}
	for _, sr := range singleRules {
		ruleFeat[sr.name] = featHash("rule:" + sr.name)
	}
}

func sortStrings(s []string) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}

// ruleFeatures appends one feature per keyword class present in the plain (not ROT13)
// hits and one per rule that fired, so the model learns how much each kind of keyword
// evidence counts in context, shared across languages ("vergiss" and "forget" are one
// feature). Classes without a rule of their own exist only for this.
func ruleFeatures(plain []hit, rr ruleResult, starts []uint64, dst []uint32) []uint32 {
	var present, atStart uint64
	for _, h := range plain {
		k := kwInfos[h.id]
		present |= 1 << k.class
		s := h.end - k.n
		if s >= 0 && int(s>>6) < len(starts) && starts[s>>6]&(1<<(s&63)) != 0 {
			atStart |= 1 << k.class
		}
	}
	present &^= pairOnly
	atStart &^= pairOnly
	for i, h := range classFeat {
		if present&(1<<i) != 0 {
			dst = append(dst, h)
		}
		if atStart&(1<<i) != 0 {
			dst = append(dst, classStartFeat[i])
		}
	}
	for _, name := range rr.names {
		dst = append(dst, ruleFeat[name])
	}
	// Model-only pair features (see pairFeatures), over the same hits.
	var lastEnd [64]int32
	var seen, got uint64
	for _, h := range plain {
		k := kwInfos[h.id]
		if pairFeatClasses&(1<<k.class) == 0 {
			continue
		}
		start := h.end - k.n
		for i := range compiledPairFeats {
			pf := &compiledPairFeats[i]
			if pf.second == k.class && seen&(1<<pf.first) != 0 {
				if e := lastEnd[pf.first]; start >= e && start-e <= pf.window {
					got |= 1 << i
				}
			}
		}
		lastEnd[k.class] = h.end
		seen |= 1 << k.class
	}
	for i := range compiledPairFeats {
		if got&(1<<i) != 0 {
			dst = append(dst, compiledPairFeats[i].feat)
		}
	}
	return dst
}

// featName names each text-level feature bucket for explanations.
var featName = map[uint32]string{}

func init() {
	for i, cl := range classNames {
		featName[classFeat[i]] = cl
		featName[classStartFeat[i]] = cl + "@start"
	}
	for n, h := range ruleFeat {
		featName[h] = "rule:" + n
	}
	for i, pf := range pairFeatures {
		featName[compiledPairFeats[i].feat] = "pair:" + pf.name
	}
	for i, n := range flagNames {
		featName[flagFeat[i]] = n
	}
}

// textFeature tells the text-level features (keyword classes, rules, pairs, layout flags)
// from hashed words; a word that hashes into one of their buckets counts as the feature.
func textFeature(h uint32) bool {
	_, ok := featName[h]
	return ok
}

// evidence names the (at most three) text-level features with the largest positive
// weights among extra.
func (m *model) evidence(extra []uint32) []string {
	var top [3]uint32
	var topW [3]int8
	n := 0
	for _, h := range extra {
		w := m.q[h]
		if w <= 0 {
			continue
		}
		i := n
		if n < len(top) {
			n++
		} else if w <= topW[len(top)-1] {
			continue
		} else {
			i = len(top) - 1
		}
		for ; i > 0 && topW[i-1] < w; i-- {
			top[i], topW[i] = top[i-1], topW[i-1]
		}
		top[i], topW[i] = h, w
	}
	if n == 0 {
		return nil
	}
	out := make([]string, n)
	for i := range out {
		out[i] = featName[top[i]]
	}
	return out
}

// maxRepeat is how many occurrences of one word in a window count.
const maxRepeat = 3

// seenSet counts word hashes in one scoring window (at most `window` distinct words, so
// the table stays at most a quarter full). reset is O(1): entries from earlier windows
// carry an older generation.
type seenSet struct {
	keys   [4 * window]uint32
	gens   [4 * window]uint32
	counts [4 * window]uint16
	gen    uint32
}

func (s *seenSet) reset() {
	s.gen++
	if s.gen == 0 { // wrapped: old generations could look current
		s.gens = [4 * window]uint32{}
		s.gen = 1
	}
}

// add counts one occurrence of h and returns how many there are now in this window.
func (s *seenSet) add(h uint32) int {
	const mask = 4*window - 1
	for i := (h * 2654435761) >> 16 & mask; ; i = (i + 1) & mask {
		if s.gens[i] != s.gen {
			s.gens[i], s.keys[i], s.counts[i] = s.gen, h, 1
			return 1
		}
		if s.keys[i] == h {
			if s.counts[i] < math.MaxUint16 {
				s.counts[i]++
			}
			return int(s.counts[i])
		}
	}
}

var setPool = sync.Pool{New: func() any { return new([2]seenSet) }}
