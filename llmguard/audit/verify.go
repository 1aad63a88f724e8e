package audit

import (
	"bufio"
	"bytes"
	"crypto/hmac"
	"encoding/json"
	"fmt"
	"io"
)

// MaxRecordSize bounds one record line when reading; larger lines are reported as broken
// rather than read into memory whole.
const MaxRecordSize = 8 << 20

// record is a parsed record line.
type record struct {
	V     int             `json:"v"`
	Chain string          `json:"chain"`
	Seq   *uint64         `json:"seq"`
	Prev  string          `json:"prev"`
	Kid   string          `json:"kid"`
	Nonce []byte          `json:"nonce"`
	CT    []byte          `json:"ct"`
	Entry json.RawMessage `json:"entry"`
	MAC   string          `json:"mac"`
}

// Problem is the first defect a verification found. Record locates it; Seq is the record
// number the chain expected there.
type Problem struct {
	File   string
	Line   int
	Seq    uint64
	Reason string
}

func (p *Problem) Error() string {
	return fmt.Sprintf("%s:%d: %s", p.File, p.Line, p.Reason)
}

// Report summarises a verification.
type Report struct {
	Records int // records checked and found intact
	Chains  int // chains seen (one per writer start)
	// MidChainStart is set when the first record given is not the start of its chain
	// (older files rolled away): the records before it cannot be checked.
	MidChainStart bool
	FirstSeq      uint64
}

// Verifier checks records in order, across any number of files given in the order they
// were written (oldest rolled file first).
type Verifier struct {
	key     []byte
	chain   string
	next    uint64
	prev    string
	started bool
	Report  Report
}

// NewVerifier returns a Verifier for chains MACed with key.
func NewVerifier(key []byte) *Verifier { return &Verifier{key: key} }

// Check reads records from r (named name in problems) and returns the first problem, or
// nil if every record is intact and in sequence.
func (v *Verifier) Check(name string, r io.Reader) error {
	return scan(name, r, func(line int, rec *record) error {
		return v.check(name, line, rec)
	})
}

func (v *Verifier) check(name string, line int, rec *record) error {
	bad := func(seq uint64, format string, args ...any) error {
		return &Problem{File: name, Line: line, Seq: seq, Reason: fmt.Sprintf(format, args...)}
	}
	seq := *rec.Seq
	var entry []byte
	if rec.CT == nil {
		entry = rec.Entry
	}
	want := computeMAC(v.key, rec.Chain, seq, rec.Prev, rec.Kid, entry, rec.Nonce, rec.CT)
	if !hmac.Equal([]byte(want), []byte(rec.MAC)) {
		return bad(seq, "record seq %d of chain %s was altered or forged (MAC mismatch)", seq, rec.Chain)
	}
	switch {
	case !v.started:
		v.started = true
		v.Report.Chains = 1
		v.Report.FirstSeq = seq
		v.Report.MidChainStart = seq != 0 || rec.Prev != ""
	case rec.Chain == v.chain:
		if seq < v.next {
			return bad(v.next, "record seq %d of chain %s is out of order or duplicated (expected seq %d)", seq, rec.Chain, v.next)
		}
		if seq > v.next {
			return bad(v.next, "records seq %d to %d of chain %s are missing", v.next, seq-1, rec.Chain)
		}
		if rec.Prev != v.prev {
			return bad(seq, "record seq %d of chain %s does not follow its predecessor", seq, rec.Chain)
		}
	default:
		// A new chain must start cleanly: a writer restart. Anything else means records
		// between the two chains were removed.
		if seq != 0 || rec.Prev != "" {
			return bad(seq, "record seq %d of chain %s follows chain %s without its start: records are missing", seq, rec.Chain, v.chain)
		}
		v.Report.Chains++
	}
	v.chain, v.next, v.prev = rec.Chain, seq+1, rec.MAC
	v.Report.Records++
	return nil
}

// scan calls f for every record line of r; blank lines are skipped.
func scan(name string, r io.Reader, f func(line int, rec *record) error) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for n := 1; ; n++ {
		raw, err := readLine(br)
		if len(bytes.TrimSpace(raw)) > 0 {
			var rec record
			if jerr := json.Unmarshal(raw, &rec); jerr != nil || rec.V != formatVersion || rec.Seq == nil || rec.MAC == "" {
				return &Problem{File: name, Line: n, Reason: "not an llmguard audit record (truncated or edited line)"}
			}
			if ferr := f(n, &rec); ferr != nil {
				return ferr
			}
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return &Problem{File: name, Line: n, Reason: err.Error()}
		}
	}
}

func readLine(br *bufio.Reader) ([]byte, error) {
	var out []byte
	for {
		chunk, err := br.ReadSlice('\n')
		out = append(out, chunk...)
		if len(out) > MaxRecordSize {
			return nil, fmt.Errorf("record longer than %d bytes", MaxRecordSize)
		}
		if err != bufio.ErrBufferFull {
			return out, err
		}
	}
}

// Decrypt writes the entry of every record of r to w, one JSON line each, decrypting
// encrypted ones with keys. It does not check the chain (run a Verifier for that) but
// does authenticate every ciphertext.
func Decrypt(name string, r io.Reader, keys Keyring, w io.Writer) error {
	return scan(name, r, func(line int, rec *record) error {
		entry := []byte(rec.Entry)
		if rec.CT != nil {
			a, ok := keys[rec.Kid]
			if !ok {
				return &Problem{File: name, Line: line, Seq: *rec.Seq, Reason: fmt.Sprintf("no key for key id %q", rec.Kid)}
			}
			if len(rec.Nonce) != a.NonceSize() {
				// GCM panics on a wrong nonce length; a crafted file must not crash us.
				return &Problem{File: name, Line: line, Seq: *rec.Seq, Reason: fmt.Sprintf("record seq %d has a malformed nonce", *rec.Seq)}
			}
			var err error
			entry, err = a.Open(nil, rec.Nonce, rec.CT, aad(rec.Chain, *rec.Seq, rec.Kid))
			if err != nil {
				return &Problem{File: name, Line: line, Seq: *rec.Seq, Reason: fmt.Sprintf("record seq %d does not decrypt under key %q (wrong key or altered record)", *rec.Seq, rec.Kid)}
			}
		}
		if _, err := w.Write(append(entry, '\n')); err != nil {
			return err
		}
		return nil
	})
}
