package audit

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// MinMACKeyLen is the shortest chain secret accepted: shorter secrets can be guessed
// offline from a single record, which would let an attacker re-forge the chain.
const MinMACKeyLen = 16

// CheckMACKey rejects a chain secret too short to protect the chain.
func CheckMACKey(key []byte) error {
	if len(key) < MinMACKeyLen {
		return fmt.Errorf("the audit HMAC key must be at least %d bytes, got %d", MinMACKeyLen, len(key))
	}
	return nil
}

// ParseAESKey decodes a 256-bit AES key given as 64 hex digits or standard/URL base64
// (with or without padding). The error never contains the key.
func ParseAESKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if b, err := hex.DecodeString(s); err == nil && len(b) == 32 {
		return b, nil
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil && len(b) == 32 {
			return b, nil
		}
	}
	return nil, errors.New("the encryption key must be 32 bytes, as 64 hex digits or base64")
}

// ValidKeyID reports whether id can name a key: 1–64 of [A-Za-z0-9._-]. Ids are written
// into every record unquoted-safe, so they are kept to characters JSON never escapes.
func ValidKeyID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// Keyring maps key ids to AES-GCM ciphers, for decrypting records written under keys that
// have since been rotated.
type Keyring map[string]cipher.AEAD

// Add adds key under id.
func (k Keyring) Add(id string, key []byte) error {
	if !ValidKeyID(id) {
		return fmt.Errorf("invalid key id %q: use 1-64 letters, digits, '.', '_' or '-'", id)
	}
	a, err := newAEAD(key)
	if err != nil {
		return err
	}
	k[id] = a
	return nil
}

func newAEAD(key []byte) (cipher.AEAD, error) {
	if len(key) != 32 {
		return nil, errors.New("the encryption key must be 32 bytes (AES-256)")
	}
	b, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(b)
}
