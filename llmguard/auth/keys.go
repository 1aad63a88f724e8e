package auth

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"regexp"
	"strings"
)

// KeyPrefix starts every gateway API key. A fixed, distinctive prefix lets secret scanners
// (GitHub push protection, gitleaks, trufflehog) recognise a leaked key, and lets the
// gateway tell its own keys apart from JWTs that arrive in the same header.
const KeyPrefix = "sk-llmg-"

const (
	// keyRandomChars base62 characters carry the entropy: 43 × log2(62) ≈ 256 bits.
	keyRandomChars = 43
	// keyCheckChars base62 characters hold a CRC-32 of the random part, so typos and
	// look-alike strings are rejected without a lookup and scanners can validate a
	// candidate offline (the scheme GitHub uses for its tokens).
	keyCheckChars = 6
	// KeyLength is the total length of a gateway API key.
	KeyLength = len(KeyPrefix) + keyRandomChars + keyCheckChars

	base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

	// HashPrefix marks the hash algorithm in stored hashes, so a future scheme can coexist.
	HashPrefix = "sha256:"
)

// keyIDPattern is what a key id may look like: ids appear in logs, placeholders, URLs of
// the admin API and file names, so they are restricted to characters safe in all of them.
var keyIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$`)

// CheckKeyID reports whether id is a valid key id.
func CheckKeyID(id string) error {
	if !keyIDPattern.MatchString(id) {
		return errors.New("a key id must be 1–128 characters of letters, digits and . _ @ -, starting with a letter or digit")
	}
	return nil
}

// ErrKeyFormat is returned for a string that is not a well-formed gateway API key.
var ErrKeyFormat = errors.New("not a well-formed gateway API key")

// NewKey returns a fresh API key drawn from rnd (crypto/rand.Reader when nil).
func NewKey(rnd io.Reader) (string, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	var b strings.Builder
	b.Grow(KeyLength)
	b.WriteString(KeyPrefix)
	// Rejection sampling keeps every character uniform: bytes ≥ 248 (= 4×62) are dropped
	// instead of being folded onto the first characters by a modulo.
	buf := make([]byte, 64)
	n := 0
	for n < keyRandomChars {
		if _, err := io.ReadFull(rnd, buf); err != nil {
			return "", fmt.Errorf("reading random bytes: %w", err)
		}
		for _, c := range buf {
			if c >= 248 || n == keyRandomChars {
				continue
			}
			b.WriteByte(base62[c%62])
			n++
		}
	}
	random := b.String()[len(KeyPrefix):]
	b.WriteString(checksum(random))
	return b.String(), nil
}

// checksum encodes the CRC-32 of s as keyCheckChars base62 characters (62^6 > 2^32).
func checksum(s string) string {
	c := checksumChars(s)
	return string(c[:])
}

// checksumChars is checksum as an array: checking a key on every request allocates nothing.
func checksumChars(s string) [keyCheckChars]byte {
	v := uint64(crc32.ChecksumIEEE([]byte(s)))
	var out [keyCheckChars]byte
	for i := keyCheckChars - 1; i >= 0; i-- {
		out[i] = base62[v%62]
		v /= 62
	}
	return out
}

// LooksLikeKey reports whether s starts with the gateway's key prefix, i.e. whether the key
// source should claim the credential (and refuse it if malformed) rather than leave it to
// another source such as JWT.
func LooksLikeKey(s string) bool { return strings.HasPrefix(s, KeyPrefix) }

// CheckKeyFormat validates prefix, length, alphabet and checksum. It does no lookup, so
// its running time depends only on the public format, never on stored keys.
func CheckKeyFormat(key string) error {
	if len(key) != KeyLength || !LooksLikeKey(key) {
		return ErrKeyFormat
	}
	body := key[len(KeyPrefix):]
	for i := 0; i < len(body); i++ {
		if strings.IndexByte(base62, body[i]) < 0 {
			return ErrKeyFormat
		}
	}
	if sum := checksumChars(body[:keyRandomChars]); string(sum[:]) != body[keyRandomChars:] {
		return ErrKeyFormat
	}
	return nil
}

// HashKey returns the stored form of a key: "sha256:" and the hex SHA-256 digest.
//
// A fast hash is the right tool here, unlike for passwords: a gateway key carries 256 bits
// from crypto/rand, so an attacker holding the hash cannot search the key space whatever
// the hash costs, and a slow KDF (bcrypt, argon2) would only add tens of milliseconds of
// CPU to every request — itself a denial-of-service lever. Keys generated elsewhere with
// low entropy are the admin's risk; the documentation says so.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return HashPrefix + hex.EncodeToString(sum[:])
}

// parseHash decodes a stored "sha256:<hex>" hash.
func parseHash(s string) ([sha256.Size]byte, error) {
	var out [sha256.Size]byte
	h, ok := strings.CutPrefix(s, HashPrefix)
	if !ok {
		return out, fmt.Errorf("hash must start with %q", HashPrefix)
	}
	b, err := hex.DecodeString(h)
	if err != nil || len(b) != sha256.Size {
		return out, fmt.Errorf("hash must be %q followed by %d hex digits", HashPrefix, 2*sha256.Size)
	}
	copy(out[:], b)
	return out, nil
}

// ParseCredential extracts a credential from an Authorization header value ("Bearer
// <token>", scheme case-insensitive, as RFC 6750 allows) or, with bare, from a header such
// as x-api-key that carries the token alone. It returns "" when there is no usable
// credential. Tokens are bounded in length: a megabyte "key" is refused before hashing.
func ParseCredential(value string, bare bool) string {
	const maxToken = 16 << 10 // far above any JWT we accept; keeps hashing cheap
	v := strings.TrimSpace(value)
	if !bare {
		scheme, rest, ok := strings.Cut(v, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			return ""
		}
		v = strings.TrimSpace(rest)
	}
	if v == "" || len(v) > maxToken || strings.ContainsAny(v, " \t\r\n") {
		return ""
	}
	return v
}
