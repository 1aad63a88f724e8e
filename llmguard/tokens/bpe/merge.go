package bpe

import "math"

// noRank marks a pair of adjacent parts that is not in the vocabulary.
const noRank = math.MaxUint32

// smallPiece is the length up to which the simple scan-for-minimum merge is
// used. It is quadratic, but for short pieces it beats the heap on constant
// factors; above this length the heap keeps the work at O(n log n).
const smallPiece = 48

// scratch holds the per-call working memory. It is pooled so that counting
// does not allocate per piece or per call.
type scratch struct {
	buf  []byte   // sanitised copy of invalid UTF-8 input
	pos  []int32  // small merge: start offset of each part (plus end sentinel)
	rank []uint32 // rank of merging part i with its right neighbour
	next []int32  // heap merge: linked list of live parts
	prev []int32
	heap []uint64 // heap merge: rank<<32 | start offset, min first
}

// countPiece returns how many tokens tiktoken's byte pair merge produces for
// one pre-tokenized piece. Ranks are unique per byte string, and tiktoken
// merges the lowest-ranked adjacent pair, taking the leftmost one on ties;
// both merge strategies below make exactly that choice at every step, so
// they end in the same partition and hence the same count.
func (c *Counter) countPiece(p string, sc *scratch) int {
	if len(p) == 1 {
		return 1
	}
	if c.ranks.get(p) != noRank {
		return 1
	}
	if len(p) <= smallPiece {
		return c.mergeSmall(p, sc)
	}
	return c.mergeHeap(p, sc)
}

// mergeSmall is tiktoken's own algorithm: keep the rank of every adjacent
// pair, merge the minimum, refresh the two ranks that changed.
func (c *Counter) mergeSmall(p string, sc *scratch) int {
	n := len(p)
	pos := sc.pos[:n+1]
	rank := sc.rank[:n]
	for i := 0; i <= n; i++ {
		pos[i] = int32(i)
	}
	for i := 0; i < n-1; i++ {
		rank[i] = c.rankOf(p[i : i+2])
	}
	rank[n-1] = noRank
	parts := n // pos[0:parts+1] are the live boundaries
	for parts > 1 {
		best, bi := uint32(noRank), -1
		for i := 0; i < parts-1; i++ {
			if rank[i] < best {
				best, bi = rank[i], i
			}
		}
		if bi < 0 {
			break
		}
		// Part bi absorbs part bi+1: drop boundary bi+1.
		copy(pos[bi+1:parts], pos[bi+2:parts+1])
		copy(rank[bi+1:parts-1], rank[bi+2:parts])
		parts--
		if bi+1 < parts {
			rank[bi] = c.rankOf(p[pos[bi]:pos[bi+2]])
		} else {
			rank[bi] = noRank
		}
		if bi > 0 {
			rank[bi-1] = c.rankOf(p[pos[bi-1]:pos[bi+1]])
		}
	}
	return parts
}

// mergeHeap performs the same merges with a doubly linked list of parts and
// a min-heap of candidate pairs keyed by (rank, start offset). Start offsets
// increase left to right, so the heap minimum is exactly tiktoken's choice.
//
// The heap holds only pairs that are local minima (rank below the left
// neighbour's, not above the right neighbour's), plus stale entries. The
// pair tiktoken merges next is always a local minimum, so it is in the heap,
// and every other valid entry is a real pair ranked no lower, so the heap
// minimum is still the right choice. A merge changes ranks or neighbours
// only for the four pairs around it, which are re-examined and pushed if
// they became local minima. On a run such as 50 KB of "a", where every pair
// ranks the same, this keeps the heap at a handful of entries instead of
// one per byte. Stale entries (a part merged away, or a pair whose rank
// changed) are detected on pop by comparing with the current rank.
func (c *Counter) mergeHeap(p string, sc *scratch) int {
	n := len(p)
	sc.grow(n)
	next, prev, rank := sc.next[:n], sc.prev[:n], sc.rank[:n]
	h := sc.heap[:0]
	for i := 0; i < n; i++ {
		next[i] = int32(i + 1) // n is the end sentinel
		prev[i] = int32(i - 1)
		rank[i] = noRank
		if i+1 < n {
			rank[i] = c.rankOf(p[i : i+2])
		}
	}
	// localMin reports whether the pair of part x and its right neighbour
	// could be the next merge. The last part has rank noRank, so the right
	// comparison needs no bounds check.
	localMin := func(x int32) bool {
		r := rank[x]
		if r == noRank {
			return false
		}
		if pv := prev[x]; pv >= 0 && rank[pv] <= r {
			return false
		}
		return next[x] >= int32(n) || r <= rank[next[x]]
	}
	for i := int32(0); i < int32(n); i++ {
		if localMin(i) {
			h = append(h, uint64(rank[i])<<32|uint64(i))
		}
	}
	heapify(h)
	push := func(x int32) {
		if x >= 0 && x < int32(n) && localMin(x) {
			h = pushMin(h, uint64(rank[x])<<32|uint64(x))
		}
	}
	parts := n
	for len(h) > 0 {
		top := h[0]
		h = popMin(h)
		i := int32(top & 0xffffffff)
		if rank[i] != uint32(top>>32) {
			continue // stale
		}
		// Part i absorbs its right neighbour j.
		j := next[i]
		m := next[j]
		next[i] = m
		if m < int32(n) {
			prev[m] = i
		}
		rank[j] = noRank
		parts--
		if m < int32(n) {
			rank[i] = c.rankOf(p[i:next[m]]) // part i plus its new neighbour
		} else {
			rank[i] = noRank
		}
		k := prev[i]
		if k >= 0 {
			rank[k] = c.rankOf(p[k:m])
			push(prev[k])
			push(k)
		}
		push(i)
		push(m)
	}
	sc.heap = h[:0]
	return parts
}

func (c *Counter) rankOf(b string) uint32 { return c.ranks.get(b) }

// grow makes the heap-merge slices hold at least n entries. Capacity is kept
// across calls through the pool, so a long input pays for it once.
func (sc *scratch) grow(n int) {
	n = max(n, smallPiece+1) // rank is shared with mergeSmall
	if cap(sc.next) < n {
		sc.next = make([]int32, n)
		sc.prev = make([]int32, n)
		sc.rank = make([]uint32, n)
		sc.heap = make([]uint64, 0, n)
	}
}

// The heap is 4-ary: half the depth of a binary heap, and the four
// children of a node share a cache line, which matters because long pieces
// make the heap larger than L1.

func heapify(h []uint64) {
	if len(h) < 2 {
		return // (len-2)/4 truncates to 0, which would index an empty heap
	}
	for i := (len(h) - 2) / 4; i >= 0; i-- {
		siftDown(h, i, h[i])
	}
}

// siftDown places v, which is being stored at hole i, below its ancestors.
func siftDown(h []uint64, i int, v uint64) {
	n := len(h)
	for {
		c := 4*i + 1
		if c >= n {
			break
		}
		m, mv := c, h[c]
		end := min(c+4, n)
		for k := c + 1; k < end; k++ {
			if h[k] < mv {
				m, mv = k, h[k]
			}
		}
		if v <= mv {
			break
		}
		h[i] = mv
		i = m
	}
	h[i] = v
}

func popMin(h []uint64) []uint64 {
	last := len(h) - 1
	v := h[last]
	h = h[:last]
	if last > 0 {
		siftDown(h, 0, v)
	}
	return h
}

func pushMin(h []uint64, v uint64) []uint64 {
	h = append(h, v)
	i := len(h) - 1
	for i > 0 {
		parent := (i - 1) / 4
		if h[parent] <= v {
			break
		}
		h[i] = h[parent]
		i = parent
	}
	h[i] = v
	return h
}
