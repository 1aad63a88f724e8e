package injection

import "math"

// Feature hashing: word unigrams and bigrams plus character 4-grams of the folded text,
// hashed (FNV-1a) into 2^hashBits buckets. Char n-grams carry German compounds and
// misspellings; word n-grams carry phrasing. A feature occurrence has value 1 and a
// window's vector is scaled by 1/sqrt(n), so scores do not grow with length.
const (
	hashBits = 18
	hashMask = 1<<hashBits - 1
	// window is how many feature occurrences one model evaluation sees; longer texts are
	// scored in half-overlapping windows and the maximum is kept, so an injection buried
	// in a long document is not diluted, at a constant cost per byte.
	window = 2048
)

const (
	fnvOffset = 2166136261
	fnvPrime  = 16777619
)

func isTokByte(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c >= 0x80 }

// features calls emit for each hashed feature occurrence of a folded text, in text order.
func features(folded string, emit func(h uint32)) {
	var prev uint32
	havePrev := false
	// c4 holds the last four bytes of the token stream (tokens joined by one space), so
	// char n-grams cross word boundaries like " ign", "re a"; a multiplicative hash of the
	// packed bytes costs one multiply per byte.
	var c4 uint32
	n4 := 0
	push := func(c byte) {
		c4 = c4<<8 | uint32(c)
		n4++
		if n4 >= 4 {
			emit((c4 * 0x9E3779B1) >> (32 - hashBits))
		}
	}
	for i := 0; i < len(folded); {
		if !isTokByte(folded[i]) {
			i++
			continue
		}
		j := i
		h := uint32(fnvOffset)
		for j < len(folded) && isTokByte(folded[j]) && j-i < 64 {
			h = (h ^ uint32(folded[j])) * fnvPrime
			push(folded[j])
			j++
		}
		for j < len(folded) && isTokByte(folded[j]) { // overlong token: skip the rest
			j++
		}
		push(' ')
		emit(h & hashMask)
		if havePrev {
			emit(((prev*31 + h) * fnvPrime) & hashMask)
		}
		prev, havePrev = h, true
		i = j
	}
}

// model is a logistic regression over hashed features. Weights are kept quantised to
// int8 (weight = q*scale): 256 KiB stay in cache where float32 weights would not, and the
// random lookups per feature are the detector's main cost.
type model struct {
	bias  float64
	scale float64
	q     []int8
}

// score returns the highest window logit over the text. extra are text-level features
// (the keyword classes and rules that fired, see ruleFeatures) with value 1 each; they
// are added to every window's logit unscaled.
func (m *model) score(folded string, extra []uint32) float64 {
	if m == nil || len(m.q) == 0 {
		return math.Inf(-1)
	}
	// Two interleaved windows offset by half a window give half-overlapping coverage.
	var sumA, sumB int64
	var nA, nB int
	best := math.Inf(-1)
	var ex int64
	for _, h := range extra {
		ex += int64(m.q[h])
	}
	base := m.bias + float64(ex)*m.scale
	flush := func(sum int64, n int) {
		if n == 0 {
			return
		}
		if s := base + float64(sum)*m.scale/math.Sqrt(float64(n)); s > best {
			best = s
		}
	}
	total := 0
	features(folded, func(h uint32) {
		w := int64(m.q[h])
		sumA += w
		nA++
		if total >= window/2 {
			sumB += w
			nB++
		}
		total++
		if nA == window {
			flush(sumA, nA)
			sumA, nA = 0, 0
		}
		if nB == window {
			flush(sumB, nB)
			sumB, nB = 0, 0
		}
	})
	// Trailing partial windows count only if they are the whole text or reasonably long,
	// so a few stray features at the end cannot decide alone.
	if total <= window || nA >= window/4 {
		flush(sumA, nA)
	}
	if nB >= window/4 {
		flush(sumB, nB)
	}
	return best
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
	kwClass    []uint8
	ruleFeat   = map[string]uint32{}
)

func init() {
	for cl := range classes {
		classNames = append(classNames, cl)
	}
	sortStrings(classNames)
	if len(classNames) > 64 {
		panic("injection: too many keyword classes")
	}
	idx := map[string]uint8{}
	for i, cl := range classNames {
		idx[cl] = uint8(i)
		classFeat = append(classFeat, featHash("class:"+cl))
	}
	for _, k := range kwMatcher.kw {
		kwClass = append(kwClass, idx[k.class]) // ROT13 classes map to 0, unused here
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
func ruleFeatures(plain []hit, rr ruleResult, dst []uint32) []uint32 {
	var present uint64
	for _, h := range plain {
		present |= 1 << kwClass[h.id]
	}
	for i, h := range classFeat {
		if present&(1<<i) != 0 {
			dst = append(dst, h)
		}
	}
	for _, name := range rr.names {
		dst = append(dst, ruleFeat[name])
	}
	return dst
}
