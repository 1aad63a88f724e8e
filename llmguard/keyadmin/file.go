package keyadmin

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
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
	// ErrUnavailable: the shared key store cannot be reached; nothing was changed (HTTP 503).
	ErrUnavailable = errors.New("the shared key store cannot be reached; nothing was changed, retry")
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

// Read returns the file's entries (Store).
func (f *File) Read() ([]*auth.Entry, error) {
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

// Change runs fn on the file's entries under the lock and writes the result atomically
// (Store); AfterWrite runs before the lock is released.
func (f *File) Change(fn func(entries []*auth.Entry) ([]*auth.Entry, error)) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	unlock, err := lockFile(f.Path + ".lock")
	if err != nil {
		return fmt.Errorf("locking key file: %v", err)
	}
	defer unlock()
	entries, err := f.Read()
	if err != nil {
		return err
	}
	if entries, err = fn(entries); err != nil {
		return err
	}
	if err := auth.WriteKeyFile(f.Path, entries); err != nil {
		return err
	}
	if f.AfterWrite != nil {
		f.AfterWrite()
	}
	return nil
}

// keys is the administration of this file.
func (f *File) keys() *Keys { return &Keys{Store: f, Now: f.Now, Rand: f.Rand} }

// List, Get, Create, Update, Revoke and Rotate are Keys' on this file.

func (f *File) List() ([]View, error)                    { return f.keys().List() }
func (f *File) Get(id string) (View, error)              { return f.keys().Get(id) }
func (f *File) Create(s *Spec) (Issued, error)           { return f.keys().Create(s) }
func (f *File) Update(id string, p *Patch) (View, error) { return f.keys().Update(id, p) }
func (f *File) Revoke(id string) (View, error)           { return f.keys().Revoke(id) }
func (f *File) Rotate(id string, grace time.Duration) (Issued, error) {
	return f.keys().Rotate(id, grace)
}

// Interface guards
var _ Store = (*File)(nil)
