package keyadmin

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

// Errors returned by File's methods besides *InvalidError.
var (
	// ErrNotFound: no key has the id (HTTP 404).
	ErrNotFound = errors.New("no key with this id")
	// ErrExists: a key with the id exists already (HTTP 409). Revoked keys keep their
	// record, so their ids stay taken: an id always names one key in the logs.
	ErrExists = errors.New("a key with this id exists already; choose another id")
	// ErrRevoked: the key is revoked and cannot be rotated (HTTP 409).
	ErrRevoked = errors.New("the key is revoked; re-enable it with an update setting disabled to false, or create a new key")
)

// File administers one key file. Create one File per path and share it (the lock that
// keeps concurrent changes from losing each other lives in it); Files for the same path
// in different processes are serialised by an advisory lock on "<path>.lock".
type File struct {
	Path string
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Rand is the randomness for new keys (crypto/rand when nil).
	Rand io.Reader
	// AfterWrite, when set, is called after every successful change, still under the
	// lock, so that in-memory key stores are reloaded before the change is reported
	// (a revocation is in force when the API answers).
	AfterWrite func()
	// MissingOK treats a missing file as empty, so the first Create makes it.
	MissingOK bool

	mu sync.Mutex
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

func (f *File) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

// read returns the file's entries.
func (f *File) read() ([]*auth.Entry, error) {
	data, err := os.ReadFile(f.Path)
	if errors.Is(err, fs.ErrNotExist) && f.MissingOK {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("key file: %w", err)
	}
	entries, err := auth.ParseKeyFile(data)
	if err != nil {
		return nil, fmt.Errorf("key file %s: %v", f.Path, err)
	}
	return entries, nil
}

// List returns every key, in file order.
func (f *File) List() ([]View, error) {
	entries, err := f.read()
	if err != nil {
		return nil, err
	}
	now := f.now()
	out := make([]View, 0, len(entries))
	for _, e := range entries {
		out = append(out, view(e, now))
	}
	return out, nil
}

// Get returns one key.
func (f *File) Get(id string) (View, error) {
	entries, err := f.read()
	if err != nil {
		return View{}, err
	}
	i := find(entries, id)
	if i < 0 {
		return View{}, ErrNotFound
	}
	return view(entries[i], f.now()), nil
}

func find(entries []*auth.Entry, id string) int {
	return slices.IndexFunc(entries, func(e *auth.Entry) bool { return e != nil && e.ID == id })
}

// change runs fn on the current entries under the lock and writes the result. The new
// set must pass the checks the gateway loads files with, so a change can never leave a
// file that every gateway refuses (and so keeps its stale keys).
func (f *File) change(fn func(entries []*auth.Entry, now time.Time) ([]*auth.Entry, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	unlock, err := lockFile(f.Path + ".lock")
	if err != nil {
		return fmt.Errorf("locking key file: %v", err)
	}
	defer unlock()
	entries, err := f.read()
	if err != nil {
		return err
	}
	now := f.now()
	entries, err = fn(entries, now)
	if err != nil {
		return err
	}
	for _, e := range entries {
		// Old secrets past their grace are dead; drop them so files do not grow.
		e.Previous = slices.DeleteFunc(e.Previous, func(p auth.PreviousHash) bool { return !now.Before(p.Until) })
	}
	if _, err := auth.NewKeyStore(entries); err != nil {
		return fmt.Errorf("the change would make the key file invalid: %v", err)
	}
	if err := auth.WriteKeyFile(f.Path, entries); err != nil {
		return err
	}
	if f.AfterWrite != nil {
		f.AfterWrite()
	}
	return nil
}

// Create adds a key made from s and returns its secret.
func (f *File) Create(s *Spec) (Issued, error) {
	var out Issued
	if err := s.check(); err != nil {
		return out, err
	}
	err := f.change(func(entries []*auth.Entry, now time.Time) ([]*auth.Entry, error) {
		if find(entries, s.ID) >= 0 {
			return nil, ErrExists
		}
		if s.Expires != nil && !s.Expires.After(now) {
			return nil, invalid("expires is in the past")
		}
		key, err := auth.NewKey(f.Rand)
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
func (f *File) Update(id string, p *Patch) (View, error) {
	var out View
	err := f.change(func(entries []*auth.Entry, now time.Time) ([]*auth.Entry, error) {
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
func (f *File) Revoke(id string) (View, error) {
	t := true
	return f.Update(id, &Patch{Disabled: &t})
}

// Rotate gives the key id a new secret. With a positive grace the old secret keeps
// working until grace has passed, so clients can switch without an outage.
func (f *File) Rotate(id string, grace time.Duration) (Issued, error) {
	var out Issued
	if err := checkGrace(grace); err != nil {
		return out, err
	}
	err := f.change(func(entries []*auth.Entry, now time.Time) ([]*auth.Entry, error) {
		i := find(entries, id)
		if i < 0 {
			return nil, ErrNotFound
		}
		if entries[i].Disabled {
			return nil, ErrRevoked
		}
		key, err := auth.NewKey(f.Rand)
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
