package audit

import (
	"bytes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"hash"
	"io"
	"strconv"
	"sync"

	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
)

// Record format, one JSON object per line:
//
//	{"v":1,"chain":"<id>","seq":N,"prev":"<mac of record N-1>","entry":{…},"mac":"<hex>"}
//	{"v":1,"chain":"<id>","seq":N,"prev":"…","kid":"<key id>","nonce":"<b64>","ct":"<b64>","mac":"…"}
//
// A chain is what one writer produced since it was opened: it starts at seq 0 with an empty
// prev and a fresh random id. The MAC covers the version, chain id, seq, prev, key id and
// the entry (or nonce and ciphertext), so editing, deleting, inserting or reordering a
// record breaks either its own MAC or the next record's prev. Encrypted records are
// verifiable without the encryption key: the MAC is over the ciphertext.
const formatVersion = 1

// Sealer turns log entries into chained records. It is safe for concurrent use; records
// are numbered in the order Seal is called.
type Sealer struct {
	mu      sync.Mutex
	macKey  []byte
	chainID string
	seq     uint64
	prev    string
	kid     string
	aead    cipher.AEAD
	rand    io.Reader
	buf     []byte
	mac     hash.Hash // HMAC-SHA256 under macKey, reset for each record
}

// NewSealer returns a Sealer that MACs with macKey and, if encKey is non-nil, encrypts each
// entry with AES-256-GCM under key id kid. rnd supplies the chain id and nonces (pass
// crypto/rand.Reader; tests pass a fixed source).
func NewSealer(macKey []byte, kid string, encKey []byte, rnd io.Reader) (*Sealer, error) {
	if err := CheckMACKey(macKey); err != nil {
		return nil, err
	}
	s := &Sealer{macKey: append([]byte(nil), macKey...), rand: rnd}
	if encKey != nil {
		if !ValidKeyID(kid) {
			return nil, fmt.Errorf("invalid key id %q: use 1-64 letters, digits, '.', '_' or '-'", kid)
		}
		a, err := newAEAD(encKey)
		if err != nil {
			return nil, err
		}
		s.kid, s.aead = kid, a
	}
	var id [8]byte
	if _, err := io.ReadFull(rnd, id[:]); err != nil {
		return nil, fmt.Errorf("generating chain id: %v", err)
	}
	s.chainID = hex.EncodeToString(id[:])
	return s, nil
}

// ChainID returns the id of the chain this Sealer writes.
func (s *Sealer) ChainID() string { return s.chainID }

// Seal returns the record line (ending in '\n') for one log entry. A JSON entry is embedded
// as an object (compacted); anything else as a JSON string.
func (s *Sealer) Seal(entry []byte) ([]byte, error) {
	entry = bytes.TrimRight(entry, "\r\n")
	s.mu.Lock()
	defer s.mu.Unlock()
	// AppendCompact validates and compacts in one pass (encoding/json.Compact's bytes);
	// anything but one JSON value is embedded as a string.
	body, ok := jsonspan.AppendCompact(s.buf[:0], entry)
	if !ok {
		str, _ := json.Marshal(string(entry))
		body = append(body[:0], str...)
	}
	s.buf = body
	seq := s.seq
	var nonce, ct []byte
	if s.aead != nil {
		nonce = make([]byte, s.aead.NonceSize())
		if _, err := io.ReadFull(s.rand, nonce); err != nil {
			return nil, fmt.Errorf("generating nonce: %v", err)
		}
		ct = s.aead.Seal(nil, nonce, body, aad(s.chainID, seq, s.kid))
		body = nil
	}
	if s.mac == nil {
		s.mac = hmac.New(sha256.New, s.macKey)
	}
	mac := writeMAC(s.mac, s.chainID, seq, s.prev, s.kid, body, nonce, ct)
	line := make([]byte, 0, len(body)+len(ct)*4/3+200)
	line = append(line, `{"v":`...)
	line = strconv.AppendInt(line, formatVersion, 10)
	line = append(line, `,"chain":"`...)
	line = append(line, s.chainID...)
	line = append(line, `","seq":`...)
	line = strconv.AppendUint(line, seq, 10)
	line = append(line, `,"prev":"`...)
	line = append(line, s.prev...)
	line = append(line, '"')
	if s.aead != nil {
		line = append(line, `,"kid":"`...)
		line = append(line, s.kid...)
		line = append(line, `","nonce":"`...)
		line = base64.StdEncoding.AppendEncode(line, nonce)
		line = append(line, `","ct":"`...)
		line = base64.StdEncoding.AppendEncode(line, ct)
		line = append(line, '"')
	} else {
		line = append(line, `,"entry":`...)
		line = append(line, body...)
	}
	line = append(line, `,"mac":"`...)
	line = append(line, mac...)
	line = append(line, "\"}\n"...)
	s.seq++
	s.prev = mac
	return line, nil
}

// aad binds a ciphertext to its place in the chain, so a ciphertext moved to another
// record fails to decrypt even before the MAC is checked.
func aad(chain string, seq uint64, kid string) []byte {
	return []byte("llmguard-audit-v1|" + chain + "|" + strconv.FormatUint(seq, 10) + "|" + kid)
}

func computeMAC(key []byte, chain string, seq uint64, prev, kid string, entry, nonce, ct []byte) string {
	return writeMAC(hmac.New(sha256.New, key), chain, seq, prev, kid, entry, nonce, ct)
}

// writeMAC is computeMAC with the HMAC given (and reset), so that a Sealer reuses one
// instead of building the keyed state again for every record.
func writeMAC(m hash.Hash, chain string, seq uint64, prev, kid string, entry, nonce, ct []byte) string {
	m.Reset()
	// Length-prefix every variable field so that no two different records MAC the same
	// byte string.
	var num [20]byte
	field := func(f []byte) {
		m.Write(strconv.AppendInt(num[:0], int64(len(f)), 10))
		m.Write([]byte{':'})
		m.Write(f)
	}
	field([]byte("llmguard-audit-v1"))
	field([]byte(chain))
	field(strconv.AppendUint(make([]byte, 0, 20), seq, 10))
	field([]byte(prev))
	field([]byte(kid))
	field(entry)
	field(nonce)
	field(ct)
	var sum [sha256.Size]byte
	return hex.EncodeToString(m.Sum(sum[:0]))
}
