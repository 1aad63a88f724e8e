package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"sync"
	"time"

	"go.uber.org/zap"
)

// maxKeyFile bounds what a key file may hold (about 100,000 entries): a runaway file must
// not exhaust memory on every poll.
const maxKeyFile = 64 << 20

// ParseKeyFile decodes a key file: a JSON array of entries, or an object with a "keys"
// array (so the file can grow other fields later). Unknown fields are refused, since a
// misspelt "disabled" would otherwise silently keep a revoked key alive.
func ParseKeyFile(data []byte) ([]*Entry, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("empty key file")
	}
	var entries []*Entry
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if data[0] == '[' {
		if err := dec.Decode(&entries); err != nil {
			return nil, err
		}
	} else {
		var wrapper struct {
			Keys []*Entry `json:"keys"`
		}
		if err := dec.Decode(&wrapper); err != nil {
			return nil, err
		}
		entries = wrapper.Keys
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after the key list")
	}
	return entries, nil
}

// KeyFile keeps a KeyStore in step with a file on disk. It is safe for concurrent use: the
// watcher and a writer that reloads right after its own change may call Load at once.
type KeyFile struct {
	Path   string
	Store  *KeyStore
	Logger *zap.Logger

	mu   sync.Mutex
	seen os.FileInfo // what the last read saw; nil before the first
}

// unchanged reports whether fi is the file the last read saw. Size and mtime alone miss a
// same-size rewrite within one mtime tick (a revocation flips "disabled" in place of
// another field of equal length), so the file's identity counts too: an atomic writer
// renames a new file into place, which has a new inode.
func (f *KeyFile) unchanged(fi os.FileInfo) bool {
	return f.seen != nil && os.SameFile(f.seen, fi) && fi.ModTime().Equal(f.seen.ModTime()) && fi.Size() == f.seen.Size()
}

// Load reads the file if it changed (another file renamed into place, or a new
// modification time or size) since the last successful or failed read, and installs its
// keys. It reports whether a new set was installed. On error the store keeps its previous
// set: a half-written or broken file must not lock every caller out, nor resurrect revoked
// keys.
func (f *KeyFile) Load() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fi, err := os.Stat(f.Path)
	if err != nil {
		return false, fmt.Errorf("key file: %w", err)
	}
	if f.unchanged(fi) {
		return false, nil
	}
	if fi.Size() > maxKeyFile {
		return false, fmt.Errorf("key file %s is larger than %d bytes", f.Path, maxKeyFile)
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return false, fmt.Errorf("key file: %w", err)
	}
	// Remember what was seen even if it does not parse, so a broken file is reported once
	// per change instead of on every poll.
	f.seen = fi
	entries, err := ParseKeyFile(data)
	if err != nil {
		return false, fmt.Errorf("key file %s: %v", f.Path, err)
	}
	if err := f.Store.Replace(entries); err != nil {
		return false, fmt.Errorf("key file %s: %v", f.Path, err)
	}
	return true, nil
}

// Watch polls the file every interval until ctx ends. Polling a stat (rather than
// inotify) works on every platform and filesystem, including bind mounts and network
// volumes where change notifications are unreliable, and costs one stat per interval.
// An in-place rewrite of the same size within one mtime tick is missed until the next
// change; writers should rename a new file into place (WriteKeyFile does).
func (f *KeyFile) Watch(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		changed, err := f.Load()
		switch {
		case err != nil:
			f.Logger.Error("key file not reloaded; keeping the previous keys", zap.String("path", f.Path), zap.Error(err))
		case changed:
			f.Logger.Info("key file reloaded", zap.String("path", f.Path), zap.Int("keys", f.Store.Len()))
		}
	}
}
