package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/exchange"
	"github.com/llmguard/caddy-llmguard/llmguard/geo"
	"github.com/llmguard/caddy-llmguard/llmguard/glob"
	"github.com/llmguard/caddy-llmguard/llmguard/netrule"
)

// Attributes are what a key grants and where it works: every field an administrator
// sets on a key. Entry embeds them, and so do the key administration API's create
// request and view (keyadmin.Spec, keyadmin.View), so a new attribute is added here once
// and is then stored, loaded, created, updated and shown everywhere.
type Attributes struct {
	// Name is a human-readable label.
	Name string `json:"name,omitempty"`
	// Scopes granted to the key, e.g. "llm:chat". See Policy for their meaning.
	Scopes []string `json:"scopes,omitempty"`
	// Roles name the configured roles whose permissions the key has.
	Roles []string `json:"roles,omitempty"`
	// Tier is a free-form service tier ("free", "premium") for routing and limits.
	Tier string `json:"tier,omitempty"`
	// Models, when non-empty, narrows the key to models matching these glob patterns.
	Models []string `json:"models,omitempty"`
	// Expires, when set, is the instant from which the key is refused.
	Expires *time.Time `json:"expires,omitempty"`
	// Metadata is free-form data copied to the identity.
	Metadata map[string]string `json:"metadata,omitempty"`
	// AllowedNetworks, when non-empty, are the only client networks (CIDRs or single
	// addresses, IPv4 or IPv6) the key works from; from anywhere else it is refused with
	// 403 even though it is genuine. The client address is Caddy's client IP, which
	// honours the server's trusted_proxies.
	AllowedNetworks []string `json:"allowed_networks,omitempty"`
	// AllowedCountries, when non-empty, are the only client countries (ISO 3166-1
	// alpha-2 codes; "unknown" admits addresses the geo database cannot place) the key
	// works from. It needs llm_geo before llm_auth; without a lookup the country is
	// unknown and the key is refused.
	AllowedCountries []string `json:"allowed_countries,omitempty"`
}

// Check reports the first attribute the key store would refuse: a model glob, network
// or country that does not parse. Its message names the field, never a secret.
func (a *Attributes) Check() error {
	_, _, err := a.parse()
	return err
}

// parse validates the attributes and returns the parsed network and country lists.
func (a *Attributes) parse() ([]netip.Prefix, []string, error) {
	for _, m := range a.Models {
		if err := glob.Valid(m); err != nil {
			return nil, nil, fmt.Errorf("models: %v", err)
		}
	}
	networks, err := netrule.Parse(a.AllowedNetworks)
	if err != nil {
		return nil, nil, fmt.Errorf("allowed_networks: %v", err)
	}
	countries, err := geo.ParseCountries(a.AllowedCountries)
	if err != nil {
		return nil, nil, fmt.Errorf("allowed_countries: %v", err)
	}
	return networks, countries, nil
}

// Entry is one gateway API key as stored in a key file, in a shared key store or inline
// in the configuration. It holds the key's hash, never the key.
type Entry struct {
	// ID identifies the key in logs, placeholders and metrics. It is not secret.
	ID string `json:"id"`
	// Hash is "sha256:" followed by the hex SHA-256 of the key.
	Hash string `json:"hash"`
	Attributes
	// Disabled refuses the key (revocation that keeps the record).
	Disabled bool `json:"disabled,omitempty"`
	// Created is when the key was made, set by the key administration tools.
	Created *time.Time `json:"created,omitempty"`
	// Previous holds the hashes of secrets this key had before a rotation, each accepted
	// until its Until instant (the rotation's grace period), so clients can switch to the
	// new secret without an outage. Disabled and Expires apply to them too.
	Previous []PreviousHash `json:"previous,omitempty"`

	// networks and countries are the parsed lists, set on the store's own copy.
	networks  []netip.Prefix
	countries []string
}

// PreviousHash is a rotated-out secret of a key that is still accepted for a while.
type PreviousHash struct {
	// Hash is the old secret's stored form ("sha256:…").
	Hash string `json:"hash"`
	// Until is the instant from which the old secret is refused.
	Until time.Time `json:"until"`
}

// Identity returns the caller identity the key grants.
func (e *Entry) Identity() *exchange.Identity {
	return &exchange.Identity{
		ID: e.ID, Source: "api_key", Name: e.Name,
		Roles: e.Roles, Scopes: e.Scopes, Tier: e.Tier, Models: e.Models, Metadata: e.Metadata,
		Networks: e.networks, Countries: e.countries,
	}
}

// Errors returned by KeyStore.Verify. Their texts are safe for clients.
var (
	// ErrInvalidKey covers unknown, wrong and disabled keys alike: a client learns nothing
	// about which keys exist.
	ErrInvalidKey = errors.New("invalid API key")
	// ErrExpiredKey is only returned to a caller who holds a genuine (hash-matching) key,
	// so it reveals nothing to a guesser and tells the owner what to do.
	ErrExpiredKey = errors.New("API key has expired")
)

type storedKey struct {
	hash  [sha256.Size]byte
	entry *Entry
	// until is set for a rotated-out secret: it is refused from then on.
	until *time.Time
}

// keySet is an immutable snapshot; reloads swap whole snapshots atomically, so a request
// sees either the old or the new set, never a mix.
type keySet struct {
	byHash map[[sha256.Size]byte]*storedKey
	keys   int
}

// KeyStore verifies presented keys against the current set. It is safe for concurrent use.
type KeyStore struct {
	inline []*Entry
	set    atomic.Pointer[keySet]
	// fake is compared against when a key is unknown, so unknown keys cost the same
	// comparison as known ones (the caddyauth basicauth fakePassword idea).
	fake [sha256.Size]byte
	// ops are the digest and comparison Verify performs; a field so that a test can count
	// them and pin the constant-time property structurally, not with a stopwatch.
	ops verifyOps
}

// verifyOps is the secret-dependent work of one verification: exactly one digest and one
// comparison happen for every well-formed key, known or not.
type verifyOps struct {
	digest  func([]byte) [sha256.Size]byte
	compare func(x, y []byte) int
}

var constantTimeOps = verifyOps{digest: sha256.Sum256, compare: subtle.ConstantTimeCompare}

// NewKeyStore returns a store with the given inline entries (validated) and no file keys.
func NewKeyStore(inline []*Entry) (*KeyStore, error) {
	s := &KeyStore{inline: inline, ops: constantTimeOps}
	s.fake = sha256.Sum256([]byte("llmguard fake key for constant-time misses"))
	if err := s.Replace(nil); err != nil {
		return nil, err
	}
	return s, nil
}

// Replace installs inline entries plus fileEntries as the current set, or changes nothing
// and returns an error if any entry is invalid or a hash or id appears twice.
func (s *KeyStore) Replace(fileEntries []*Entry) error {
	set := &keySet{byHash: make(map[[sha256.Size]byte]*storedKey, len(s.inline)+len(fileEntries))}
	ids := map[string]bool{}
	for i, e := range append(append([]*Entry(nil), s.inline...), fileEntries...) {
		if e == nil || e.ID == "" {
			return fmt.Errorf("key entry %d: missing id", i)
		}
		if ids[e.ID] {
			return fmt.Errorf("key %q: duplicate id", e.ID)
		}
		ids[e.ID] = true
		set.keys++
		// The store keeps its own copy with the parsed lists: inline entries are shared by
		// every Replace, and writing to them would race with requests using the old set.
		c := *e
		var err error
		if c.networks, c.countries, err = e.parse(); err != nil {
			return fmt.Errorf("key %q: %v", e.ID, err)
		}
		if err := set.add(&c, c.Hash, nil); err != nil {
			return err
		}
		for j := range c.Previous {
			if err := set.add(&c, c.Previous[j].Hash, &c.Previous[j].Until); err != nil {
				return fmt.Errorf("%v (previous secret %d)", err, j)
			}
		}
	}
	s.set.Store(set)
	return nil
}

// add indexes one secret (current or, with until, rotated-out) of e.
func (set *keySet) add(e *Entry, hash string, until *time.Time) error {
	h, err := parseHash(hash)
	if err != nil {
		return fmt.Errorf("key %q: %v", e.ID, err)
	}
	if _, dup := set.byHash[h]; dup {
		return fmt.Errorf("key %q: the same hash is listed twice", e.ID)
	}
	set.byHash[h] = &storedKey{hash: h, entry: e, until: until}
	return nil
}

// Len is the number of keys in the current set.
func (s *KeyStore) Len() int { return s.set.Load().keys }

// Verify returns the entry for key if it is known, enabled and unexpired at now.
//
// Timing: the work is CheckKeyFormat (public), one SHA-256 of the presented key, one map
// lookup keyed by that digest and one constant-time comparison, whether or not the key
// exists. The map lookup's timing depends only on the digest of what the client sent,
// which an attacker cannot steer towards a stored digest without a SHA-256 preimage, so it
// reveals nothing about stored keys; and a "wrong key for an existing id" is simply an
// unknown digest, the same path as any other miss.
func (s *KeyStore) Verify(key string, now time.Time) (*Entry, error) {
	if CheckKeyFormat(key) != nil {
		return nil, ErrInvalidKey
	}
	h := s.ops.digest([]byte(key))
	sk, ok := s.set.Load().byHash[h]
	want := &s.fake
	if ok {
		want = &sk.hash
	}
	match := s.ops.compare(h[:], want[:]) == 1
	// A rotated-out secret past its grace period is as dead as an unknown one; it is not
	// "expired", which would tell the holder to ask for a key they already have.
	if !ok || !match || sk.entry.Disabled || (sk.until != nil && !now.Before(*sk.until)) {
		return nil, ErrInvalidKey
	}
	if sk.entry.Expires != nil && !now.Before(*sk.entry.Expires) {
		return nil, ErrExpiredKey
	}
	return sk.entry, nil
}
