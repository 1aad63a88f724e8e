package keyadmin

import (
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

// Store holds a key set: a key file (File) or a store shared by several gateways.
type Store interface {
	// Read returns the current entries.
	Read() ([]*auth.Entry, error)
	// Change runs fn on the current entries and stores what it returns, atomically: no
	// concurrent Change (in this process or another) is lost. When fn fails, nothing
	// changes and its error is returned.
	Change(fn func(entries []*auth.Entry) ([]*auth.Entry, error)) error
}

// Keys administers the key set in a Store: list, show, create, update, rotate, revoke.
type Keys struct {
	Store Store
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Rand is the randomness for new keys (crypto/rand when nil).
	Rand io.Reader
}

// View is what the API shows of a key: everything but its hashes.
type View struct {
	ID string `json:"id"`
	auth.Attributes
	Created *time.Time `json:"created,omitempty"`
	// Status is "active", "revoked" or "expired".
	Status string `json:"status"`
	// PreviousValidUntil is when the last rotated-out secret stops working, while one
	// still does.
	PreviousValidUntil *time.Time `json:"previous_valid_until,omitempty"`
}

// Issued is a created or rotated key: the secret, shown once, and the key's view.
type Issued struct {
	Key string `json:"key"`
	View
}

func view(e *auth.Entry, now time.Time) View {
	v := View{ID: e.ID, Attributes: e.Attributes, Created: e.Created, Status: "active"}
	switch {
	case e.Disabled:
		v.Status = "revoked"
	case e.Expires != nil && !now.Before(*e.Expires):
		v.Status = "expired"
	}
	for _, p := range e.Previous {
		if now.Before(p.Until) && (v.PreviousValidUntil == nil || p.Until.After(*v.PreviousValidUntil)) {
			v.PreviousValidUntil = &p.Until
		}
	}
	return v
}

func (k *Keys) now() time.Time {
	if k.Now != nil {
		return k.Now()
	}
	return time.Now()
}

// List returns every key, in stored order.
func (k *Keys) List() ([]View, error) {
	entries, err := k.Store.Read()
	if err != nil {
		return nil, err
	}
	now := k.now()
	out := make([]View, 0, len(entries))
	for _, e := range entries {
		out = append(out, view(e, now))
	}
	return out, nil
}

// Get returns one key.
func (k *Keys) Get(id string) (View, error) {
	entries, err := k.Store.Read()
	if err != nil {
		return View{}, err
	}
	i := find(entries, id)
	if i < 0 {
		return View{}, ErrNotFound
	}
	return view(entries[i], k.now()), nil
}

func find(entries []*auth.Entry, id string) int {
	return slices.IndexFunc(entries, func(e *auth.Entry) bool { return e != nil && e.ID == id })
}

// change runs fn on the current entries and stores the result. The new set must pass the
// checks the gateway loads key sets with, so a change can never leave a file or shared
// store that every gateway refuses (and so keeps its stale keys).
func (k *Keys) change(fn func(entries []*auth.Entry, now time.Time) ([]*auth.Entry, error)) error {
	return k.Store.Change(func(entries []*auth.Entry) ([]*auth.Entry, error) {
		now := k.now()
		entries, err := fn(entries, now)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			// Old secrets past their grace are dead; drop them so key sets do not grow.
			e.Previous = slices.DeleteFunc(e.Previous, func(p auth.PreviousHash) bool { return !now.Before(p.Until) })
		}
		if _, err := auth.NewKeyStore(entries); err != nil {
			return nil, fmt.Errorf("the change would make the key set invalid: %v", err)
		}
		return entries, nil
	})
}

// Create adds a key made from s and returns its secret.
func (k *Keys) Create(s *Spec) (Issued, error) {
	var out Issued
	if err := s.check(); err != nil {
		return out, err
	}
	err := k.change(func(entries []*auth.Entry, now time.Time) ([]*auth.Entry, error) {
		if find(entries, s.ID) >= 0 {
			return nil, ErrExists
		}
		if s.Expires != nil && !s.Expires.After(now) {
			return nil, invalid("expires is in the past")
		}
		key, err := auth.NewKey(k.Rand)
		if err != nil {
			return nil, err
		}
		created := now.UTC().Truncate(time.Second)
		e := &auth.Entry{ID: s.ID, Hash: auth.HashKey(key), Attributes: s.Attributes, Created: &created}
		out = Issued{Key: key, View: view(e, now)}
		return append(entries, e), nil
	})
	return out, err
}

// Update applies p to the key id.
func (k *Keys) Update(id string, p *Patch) (View, error) {
	var out View
	err := k.change(func(entries []*auth.Entry, now time.Time) ([]*auth.Entry, error) {
		i := find(entries, id)
		if i < 0 {
			return nil, ErrNotFound
		}
		e := *entries[i] // copy: a failed change must not alter what the caller read
		if err := p.apply(&e.Attributes); err != nil {
			return nil, err
		}
		if err := checkAttrs(&e.Attributes); err != nil {
			return nil, err
		}
		if p.Disabled != nil {
			e.Disabled = *p.Disabled
		}
		if e.Disabled {
			e.Previous = nil
		}
		entries[i] = &e
		out = view(&e, now)
		return entries, nil
	})
	return out, err
}

// Revoke disables the key id at once, old secrets included. The record stays, so logs
// that name the id can still be traced to it. Revoking a revoked key is no error.
func (k *Keys) Revoke(id string) (View, error) {
	t := true
	return k.Update(id, &Patch{Disabled: &t})
}

// Rotate gives the key id a new secret. With a positive grace the old secret keeps
// working until grace has passed, so clients can switch without an outage.
func (k *Keys) Rotate(id string, grace time.Duration) (Issued, error) {
	var out Issued
	if err := checkGrace(grace); err != nil {
		return out, err
	}
	err := k.change(func(entries []*auth.Entry, now time.Time) ([]*auth.Entry, error) {
		i := find(entries, id)
		if i < 0 {
			return nil, ErrNotFound
		}
		if entries[i].Disabled {
			return nil, ErrRevoked
		}
		key, err := auth.NewKey(k.Rand)
		if err != nil {
			return nil, err
		}
		e := *entries[i]
		e.Previous = slices.Clone(e.Previous)
		if grace > 0 {
			e.Previous = append(e.Previous, auth.PreviousHash{Hash: e.Hash, Until: now.Add(grace).UTC()})
		}
		e.Hash = auth.HashKey(key)
		entries[i] = &e
		out = Issued{Key: key, View: view(&e, now)}
		return entries, nil
	})
	return out, err
}
