package bpe

import (
	"fmt"
	"sync"
	"unicode/utf8"
	"unsafe"

	tiktoken_loader "github.com/pkoukk/tiktoken-go-loader"
)

// Counter counts tokens of one encoding. Its vocabulary is immutable after
// construction and its only mutable state is a sync.Pool of scratch
// buffers, so it is safe for concurrent use.
type Counter struct {
	name  string
	ranks *rankTable
	next  func(s string, i int) int // pre-tokenizer: end of the piece at i
	pool  sync.Pool                 // *scratch
}

// encodings lists the supported encodings with the vocabulary file the
// offline loader embeds (the same URLs tiktoken-go's encoding.go uses; the
// loader only looks at the base name) and the matching pre-tokenizer.
var encodings = map[string]struct {
	url  string
	next func(string, int) int
}{
	"cl100k_base": {"https://openaipublic.blob.core.windows.net/encodings/cl100k_base.tiktoken", nextCL100K},
	"o200k_base":  {"https://openaipublic.blob.core.windows.net/encodings/o200k_base.tiktoken", nextO200K},
}

type lazyCounter struct {
	once sync.Once
	c    *Counter
	err  error
}

var counters = func() map[string]*lazyCounter {
	m := make(map[string]*lazyCounter, len(encodings))
	for name := range encodings {
		m[name] = new(lazyCounter)
	}
	return m
}()

// Get returns the shared counter for an encoding name ("cl100k_base" or
// "o200k_base"). It is built once per encoding (loading the vocabulary costs
// a few hundred milliseconds) and safe for concurrent use.
func Get(encoding string) (*Counter, error) {
	lc, ok := counters[encoding]
	if !ok {
		return nil, fmt.Errorf("bpe: unknown encoding %q", encoding)
	}
	lc.once.Do(func() { lc.c, lc.err = build(encoding) })
	return lc.c, lc.err
}

func build(name string) (*Counter, error) {
	enc := encodings[name]
	src, err := tiktoken_loader.NewOfflineLoader().LoadTiktokenBpe(enc.url)
	if err != nil {
		return nil, fmt.Errorf("bpe: loading %s vocabulary: %w", name, err)
	}
	ranks, err := newRankTable(src)
	if err != nil {
		return nil, fmt.Errorf("bpe: %s: %w", name, err)
	}
	initClasses()
	c := &Counter{name: name, ranks: ranks, next: enc.next}
	c.pool.New = func() any {
		return &scratch{
			pos:  make([]int32, smallPiece+1),
			rank: make([]uint32, smallPiece+1),
		}
	}
	return c, nil
}

// Name returns the encoding name.
func (c *Counter) Name() string { return c.name }

// Count returns the number of tokens tiktoken would produce for text encoded
// as ordinary text: special-token strings such as "<|endoftext|>" are
// counted as plain text, the same as tiktoken's encode_ordinary and
// tiktoken-go's EncodeOrdinary. Invalid UTF-8 is counted the way
// tiktoken-go counts it (see sanitize). Part offsets are 32-bit, so a single
// pre-token must be shorter than 2 GiB; request bodies are capped far below.
func (c *Counter) Count(text string) int {
	if text == "" {
		return 0
	}
	sc := c.pool.Get().(*scratch)
	if !utf8.ValidString(text) {
		text = sanitize(text, sc)
	}
	n := 0
	for i := 0; i < len(text); {
		e := c.next(text, i)
		n += c.countPiece(text[i:e], sc)
		i = e
	}
	sc.trim()
	c.pool.Put(sc)
	return n
}

// maxPooled bounds the scratch capacity kept in the pool, so that one huge
// request does not pin tens of megabytes for every P until the next GCs.
const maxPooled = 1 << 20

func (sc *scratch) trim() {
	if cap(sc.buf) > maxPooled {
		sc.buf = nil
	}
	if cap(sc.next) > maxPooled/4 {
		sc.next, sc.prev, sc.heap = nil, nil, nil
		sc.rank = make([]uint32, smallPiece+1)
	}
}

// sanitize replaces every byte of an invalid UTF-8 sequence with U+FFFD, one
// replacement per byte. That is what tiktoken-go effectively tokenizes: both
// regexp2 and tiktoken-go convert the text with []rune(text), which decodes
// this way, and the pieces are re-encoded from those runes. The result
// aliases sc.buf, which is only reused after Count returns.
func sanitize(text string, sc *scratch) string {
	b := sc.buf[:0]
	for i := 0; i < len(text); {
		r, n := utf8.DecodeRuneInString(text[i:])
		if r == utf8.RuneError && n == 1 {
			b = append(b, "\uFFFD"...)
		} else {
			b = append(b, text[i:i+n]...)
		}
		i += n
	}
	sc.buf = b
	return unsafe.String(unsafe.SliceData(b), len(b))
}
