package bpe

import (
	"fmt"
	"math/bits"
)

// rankTable maps token bytes to their rank. It replaces the loader's
// map[string]int on the hot path, where nearly all lookups are for byte
// pairs and other short strings during merges. The layout is chosen so that
// those lookups hit memory that stays in cache:
//
//   - 1 and 2 byte keys index flat arrays (1 KB and 256 KB);
//   - 3 and 4 byte keys live in 8-byte slots (key and rank in one word);
//   - longer keys live in 16-byte slots holding the first 8 key bytes, so
//     keys of up to 8 bytes are compared as one integer and only longer
//     ones touch the arena of key bytes.
//
// The open-addressed tables use linear probing at a load factor of at most
// 0.6, so a probe sequence is a few adjacent words.
type rankTable struct {
	one   [256]uint32
	two   []uint32   // indexed by the 2 key bytes, little endian
	small []uint64   // 3–4 byte keys: key | (rank<<1 | len-3)<<32
	smask uint64     //
	big   []rankSlot // keys of 5 or more bytes
	bmask uint64     //
	arena string     // bytes of the keys longer than 8 bytes, concatenated
}

type rankSlot struct {
	key  uint64 // first 8 key bytes, little endian
	meta uint32 // key length in the low 8 bits, arena offset above
	rank uint32 // noRank marks an empty slot
}

const emptySmall = ^uint64(0)

// maxTokenLen is a bound on vocabulary entries (128 bytes for both
// encodings); longer strings are never looked up.
const maxTokenLen = 255

// tableSize returns a power of two giving a load factor of at most 0.6.
func tableSize(n int) int {
	size := 16
	for size*3 < n*5 {
		size <<= 1
	}
	return size
}

func newRankTable(src map[string]int) (*rankTable, error) {
	t := &rankTable{two: make([]uint32, 1<<16)}
	for i := range t.one {
		t.one[i] = noRank
	}
	for i := range t.two {
		t.two[i] = noRank
	}
	nSmall, nBig := 0, 0
	for k := range src {
		switch {
		case len(k) == 3 || len(k) == 4:
			nSmall++
		case len(k) > 4:
			nBig++
		}
	}
	t.small = make([]uint64, tableSize(nSmall))
	t.smask = uint64(len(t.small) - 1)
	for i := range t.small {
		t.small[i] = emptySmall
	}
	t.big = make([]rankSlot, tableSize(nBig))
	t.bmask = uint64(len(t.big) - 1)
	for i := range t.big {
		t.big[i].rank = noRank
	}
	var arena []byte
	for k, v := range src {
		if len(k) == 0 || len(k) > maxTokenLen || v < 0 || v >= 1<<30 {
			return nil, fmt.Errorf("vocabulary entry %q with rank %d out of range", k, v)
		}
		key := load8(k)
		switch len(k) {
		case 1:
			t.one[k[0]] = uint32(v)
		case 2:
			t.two[key] = uint32(v)
		case 3, 4:
			i := hashKey(key, k) & t.smask
			for t.small[i] != emptySmall {
				i = (i + 1) & t.smask
			}
			t.small[i] = key | uint64(uint32(v)<<1|uint32(len(k)-3))<<32
		default:
			meta := uint32(len(k))
			if len(k) > 8 {
				if len(arena) >= 1<<24 {
					return nil, fmt.Errorf("vocabulary too large")
				}
				meta |= uint32(len(arena)) << 8
				arena = append(arena, k...)
			}
			i := hashKey(key, k) & t.bmask
			for t.big[i].rank != noRank {
				i = (i + 1) & t.bmask
			}
			t.big[i] = rankSlot{key: key, meta: meta, rank: uint32(v)}
		}
	}
	t.arena = string(arena)
	return t, nil
}

// get returns the rank of s, or noRank.
func (t *rankTable) get(s string) uint32 {
	n := len(s)
	switch {
	case n == 1:
		return t.one[s[0]]
	case n == 2:
		return t.two[uint16(s[0])|uint16(s[1])<<8]
	case n <= 4:
		key := load8(s)
		want := key | uint64(n-3)<<32
		for i := hashKey(key, s) & t.smask; ; i = (i + 1) & t.smask {
			e := t.small[i]
			if e == emptySmall {
				return noRank
			}
			// Compare key and length bit at once; the rank sits above.
			if e&(1<<33-1) == want {
				return uint32(e>>33) & (1<<31 - 1)
			}
		}
	case n > maxTokenLen:
		return noRank
	}
	key := load8(s)
	for i := hashKey(key, s) & t.bmask; ; i = (i + 1) & t.bmask {
		sl := &t.big[i]
		if sl.rank == noRank {
			return noRank
		}
		if sl.key == key && int(sl.meta&0xff) == n {
			if n <= 8 {
				return sl.rank
			}
			off := int(sl.meta >> 8)
			if t.arena[off:off+n] == s {
				return sl.rank
			}
		}
	}
}

// load8 packs the first up to 8 bytes of s into a uint64.
func load8(s string) uint64 {
	if len(s) >= 8 {
		_ = s[7]
		return uint64(s[0]) | uint64(s[1])<<8 | uint64(s[2])<<16 | uint64(s[3])<<24 |
			uint64(s[4])<<32 | uint64(s[5])<<40 | uint64(s[6])<<48 | uint64(s[7])<<56
	}
	var k uint64
	for i := len(s) - 1; i >= 0; i-- {
		k = k<<8 | uint64(s[i])
	}
	return k
}

// hashKey mixes the packed prefix, the length and any further bytes with a
// 64×64→128 multiply (the wyhash mixing step). It only needs to spread the
// fixed vocabulary well; there is no secret seed because the table is
// never grown by input, so adversarial collisions can only lengthen probe
// sequences that are already bounded by the static table contents.
func hashKey(key uint64, s string) uint64 {
	const k0, k1 = 0xa0761d6478bd642f, 0xe7037ed1a0b428db
	h := mix(key^k0, uint64(len(s))^k1)
	for i := 8; i < len(s); i += 8 {
		h = mix(h^load8(s[i:]), k1)
	}
	return h
}

func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}
