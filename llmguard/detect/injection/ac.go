package injection

// matcher is an Aho–Corasick automaton over the squeezed alphabet [a-z0-9] with a dense
// transition table, so that all keywords are found in one pass of one table lookup per
// byte, however many keywords there are. Keywords are letters only, so the ten digits share
// one symbol (a digit only ever breaks a match), which keeps table rows small.
type matcher struct {
	next [][numSyms]int32 // goto/failure-resolved transitions (construction only)
	out  [][]int32        // keyword ids ending at each state (including via failure links)
	kw   []keyword
	// anchor is, per keyword id, its length if it must start a word (see keyword.anchored),
	// else 0.
	anchor []uint8
	// tab is next packed for scanning: 16-bit states (half the cache footprint) whose
	// top bit tells that the state has outputs, so the hot loop is one lookup per byte.
	// Rows are rowLen entries, one 64-byte cache line each, so a state's row is found by
	// a shift and every lookup touches one line.
	tab []uint16
}

// rowLen is the stride of matcher.tab: numSyms rounded up to a power of two.
const rowLen = 32

const outFlag = 0x8000

var symTab = func() (t [256]uint8) {
	for i := range t {
		t[i] = 0xff
		if s := sym(byte(i)); s >= 0 {
			t[i] = uint8(s)
		}
	}
	return t
}()

type keyword struct {
	text  string
	class string
	// anchored keywords count only where they start a word of the folded text, so short
	// ones do not fire inside other words or across word boundaries ("stop" in "this
	// topic", "print" in "blueprint", "sag" in "is a good").
	anchored bool
}

// numSyms is the automaton's alphabet: 26 letters and one symbol for all digits.
const numSyms = 27

func sym(c byte) int {
	if c >= 'a' && c <= 'z' {
		return int(c - 'a')
	}
	if c >= '0' && c <= '9' {
		return 26
	}
	return -1
}

func newMatcher(kws []keyword) *matcher {
	m := &matcher{next: make([][numSyms]int32, 1), out: make([][]int32, 1), kw: kws, anchor: make([]uint8, len(kws))}
	for id, k := range kws {
		if k.anchored {
			if len(k.text) > 255 {
				panic("injection: anchored keyword too long: " + k.text)
			}
			m.anchor[id] = uint8(len(k.text))
		}
		s := int32(0)
		for i := 0; i < len(k.text); i++ {
			c := sym(k.text[i])
			if c < 0 || c >= 26 {
				panic("injection: keyword outside [a-z]: " + k.text)
			}
			if m.next[s][c] == 0 {
				m.next = append(m.next, [numSyms]int32{})
				m.out = append(m.out, nil)
				m.next[s][c] = int32(len(m.next) - 1)
			}
			s = m.next[s][c]
		}
		m.out[s] = append(m.out[s], int32(id))
	}
	// Breadth-first: resolve failure links into the table.
	fail := make([]int32, len(m.next))
	queue := make([]int32, 0, len(m.next))
	for c := 0; c < numSyms; c++ {
		if t := m.next[0][c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = append(m.out[s], m.out[fail[s]]...)
		for c := 0; c < numSyms; c++ {
			t := m.next[s][c]
			if t != 0 {
				fail[t] = m.next[fail[s]][c]
				queue = append(queue, t)
			} else {
				m.next[s][c] = m.next[fail[s]][c]
			}
		}
	}
	if len(m.next) >= outFlag {
		panic("injection: keyword automaton too large")
	}
	// Number states breadth-first, so the shallow states that ordinary text keeps visiting
	// share cache lines (insertion order scatters them over the table).
	order := make([]int32, 0, len(m.next))
	order = append(order, 0)
	seenState := make([]bool, len(m.next))
	seenState[0] = true
	for i := 0; i < len(order); i++ {
		for c := 0; c < numSyms; c++ {
			if t := m.next[order[i]][c]; !seenState[t] {
				seenState[t] = true
				order = append(order, t)
			}
		}
	}
	rank := make([]int32, len(m.next))
	for i, s := range order {
		rank[s] = int32(i)
	}
	m.tab = make([]uint16, len(m.next)*rowLen)
	out := make([][]int32, len(m.next))
	for s := range m.next {
		out[rank[s]] = m.out[s]
		for c, t := range m.next[s] {
			v := uint16(rank[t])
			if len(m.out[t]) > 0 {
				v |= outFlag
			}
			m.tab[int(rank[s])*rowLen+c] = v
		}
	}
	m.out = out
	m.next = nil // only needed while building
	return m
}

// hit is one keyword occurrence: id and the end offset in the scanned string.
type hit struct {
	id  int32
	end int32
}

// scanFolded finds every keyword occurrence in the squeezed form of a folded text (its
// letters and digits only, see normalize.Squeeze) without building it: hits carry
// squeezed end offsets. It also returns a bitset over squeezed offsets marking the first
// letter or digit of the text and of every sentence or field (after . ! ? : ; quotes,
// brackets and similar punctuation), and the squeezed length. Hits are capped at
// maxHits so adversarial keyword spam cannot grow memory without bound.
func (m *matcher) scanFolded(folded string, dst []hit, maxHits int) ([]hit, []uint64, int) {
	starts := make([]uint64, len(folded)/64+1)
	st := uint16(0)
	tab := m.tab
	n := 0
	boundary := true
	for i := 0; i < len(folded); i++ {
		b := folded[i]
		c := symTab[b]
		if c == 0xff {
			if sentencePunct[b] {
				boundary = true
			}
			continue
		}
		if boundary {
			starts[n>>6] |= 1 << (n & 63)
			boundary = false
		}
		n++
		st = tab[int(st&^outFlag)*rowLen|int(c)]
		if st&outFlag == 0 {
			continue
		}
		for _, id := range m.out[st&^outFlag] {
			if len(dst) >= maxHits {
				break
			}
			if a := m.anchor[id]; a != 0 && !startsWord(folded, i, int(a)) {
				continue
			}
			dst = append(dst, hit{id, int32(n)})
		}
	}
	return dst, starts[:n/64+1], n
}

// startsWord reports whether the keyword of n letters whose last letter is folded[i]
// starts a word: the byte before its first letter is no letter or digit (spacing and
// punctuation inside the keyword, as in "s-a-y", are skipped as when squeezing). Only hits
// of anchored keywords pay for it; the walk stays within the hit's own span.
func startsWord(folded string, i, n int) bool {
	for ; i >= 0; i-- {
		if symTab[folded[i]] != 0xff {
			if n--; n == 0 {
				break
			}
		}
	}
	return i <= 0 || symTab[folded[i-1]] == 0xff
}

var sentencePunct = func() (t [256]bool) {
	for _, c := range []byte(".!?:;\"()[]{}<>*#|\\/=") {
		t[c] = true
	}
	return t
}()
