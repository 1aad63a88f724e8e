package injection

// matcher is an Aho–Corasick automaton over the squeezed alphabet [a-z0-9] with a dense
// transition table, so that all keywords are found in one pass of one table lookup per
// byte, however many keywords there are.
type matcher struct {
	next [][36]int32 // goto/failure-resolved transitions
	out  [][]int32   // keyword ids ending at each state (including via failure links)
	kw   []keyword
}

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
	return m
}

// hit is one keyword occurrence: id and the end offset in the scanned string.
type hit struct {
	id  int32
	end int32
}

// scan appends every keyword occurrence in s (which must be squeezed: [a-z0-9] only) to
// dst, capped at maxHits so adversarial keyword spam cannot grow memory without bound.
func (m *matcher) scan(s string, dst []hit, maxHits int) []hit {
	st := int32(0)
	for i := 0; i < len(s); i++ {
		c := sym(s[i])
		if c < 0 {
			st = 0
			continue
		}
		st = m.next[st][c]
		for _, id := range m.out[st] {
			if len(dst) >= maxHits {
				return dst
			}
			dst = append(dst, hit{id, int32(i + 1)})
		}
	}
	return dst
}
