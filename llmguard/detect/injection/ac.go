package injection

// matcher is an Aho–Corasick automaton over the squeezed alphabet [a-z0-9] with a dense
// transition table, so that all keywords are found in one pass of one table lookup per
// byte, however many keywords there are.
type matcher struct {
	next [][36]int32 // goto/failure-resolved transitions (construction only)
	out  [][]int32   // keyword ids ending at each state (including via failure links)
	kw   []keyword
	// tab is next packed for scanning: 16-bit states (half the cache footprint) whose
	// top bit tells that the state has outputs, so the hot loop is one lookup per byte.
	tab [][36]uint16
}

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
}

func sym(c byte) int {
	if c >= 'a' && c <= 'z' {
		return int(c - 'a')
	}
	if c >= '0' && c <= '9' {
		return 26 + int(c-'0')
	}
	return -1
}

func newMatcher(kws []keyword) *matcher {
	m := &matcher{next: make([][36]int32, 1), out: make([][]int32, 1), kw: kws}
	for id, k := range kws {
		s := int32(0)
		for i := 0; i < len(k.text); i++ {
			c := sym(k.text[i])
			if c < 0 {
				panic("injection: keyword outside [a-z0-9]: " + k.text)
			}
			if m.next[s][c] == 0 {
				m.next = append(m.next, [36]int32{})
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
	for c := 0; c < 36; c++ {
		if t := m.next[0][c]; t != 0 {
			queue = append(queue, t)
		}
	}
	for len(queue) > 0 {
		s := queue[0]
		queue = queue[1:]
		m.out[s] = append(m.out[s], m.out[fail[s]]...)
		for c := 0; c < 36; c++ {
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
	m.tab = make([][36]uint16, len(m.next))
	for s := range m.next {
		for c, t := range m.next[s] {
			v := uint16(t)
			if len(m.out[t]) > 0 {
				v |= outFlag
			}
			m.tab[s][c] = v
		}
	}
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
		st = tab[st&^outFlag][c]
		if st&outFlag == 0 {
			continue
		}
		for _, id := range m.out[st&^outFlag] {
			if len(dst) >= maxHits {
				break
			}
			dst = append(dst, hit{id, int32(n)})
		}
	}
	return dst, starts[:n/64+1], n
}

var sentencePunct = func() (t [256]bool) {
	for _, c := range []byte(".!?:;\"()[]{}<>*#|\\/=") {
		t[c] = true
	}
	return t
}()
