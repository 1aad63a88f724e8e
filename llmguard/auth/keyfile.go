package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/filepoll"
	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
)

// maxKeyFile bounds what a key file may hold (about 100,000 entries): a runaway file must
// not exhaust memory on every poll.
const maxKeyFile = 64 << 20

// ParseKeyFile decodes a key file: a JSON array of entries, or an object with a "keys"
// array (so the file can grow other fields later). Unknown fields are refused, since a
// misspelt "disabled" would otherwise silently keep a revoked key alive; and so are two
// keys in one object that encoding/json would read into the same field — a repeat, or
// the same name in another case ({"disabled":true,"Disabled":false}) — since the last
// would win unseen.
func ParseKeyFile(data []byte) ([]*Entry, error) {
	data = bytes.TrimSpace(data)
	if len(data) == 0 {
		return nil, fmt.Errorf("empty key file")
	}
	if err := jsonspan.UniqueFold(data); err != nil {
		return nil, err
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
	file *filepoll.File
}

// Load reads the file if it changed (another file renamed into place, or a new
// modification time or size) since the last successful or failed read, and installs its
// keys. It reports whether a new set was installed. On error the store keeps its previous
// set: a half-written or broken file must not lock every caller out, nor resurrect revoked
// keys.
func (f *KeyFile) Load() (bool, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.file == nil {
		f.file = &filepoll.File{Path: f.Path, MaxSize: maxKeyFile}
	}
	data, changed, err := f.file.Read()
	if err != nil {
		return false, fmt.Errorf("key file: %w", err)
	}
	if !changed {
		return false, nil
	}
	entries, err := ParseKeyFile(data)
	if err != nil {
		return false, fmt.Errorf("key file %s: %v", f.Path, err)
	}
	if err := f.Store.Replace(entries); err != nil {
		return false, fmt.Errorf("key file %s: %v", f.Path, err)
	}
	return true, nil
}

// Watch polls the file every interval until ctx ends (see filepoll for why polling).
func (f *KeyFile) Watch(ctx context.Context, interval time.Duration) {
	filepoll.Every(ctx, interval, func() {
		changed, err := f.Load()
		switch {
		case err != nil:
			f.Logger.Error("key file not reloaded; keeping the previous keys", zap.String("path", f.Path), zap.Error(err))
		case changed:
			f.Logger.Info("key file reloaded", zap.String("path", f.Path), zap.Int("keys", f.Store.Len()))
		}
	})
}
