// Package filepoll re-reads a file when it changes, by polling its modification time and
// size: the one way the gateway's hot-reloaded files (key files, geo databases) notice an
// update without a configuration reload.
//
// Polling (rather than inotify) works on every platform and filesystem, including bind
// mounts and network volumes where change notifications are unreliable. It must stay
// cheap: one stat per poll, and a read only after a change.
package filepoll

import (
	"context"
	"fmt"
	"os"
	"time"
)

// File remembers the last version of a file that was read.
type File struct {
	// Path is the file to read.
	Path string
	// MaxSize bounds what is read, so a runaway file cannot exhaust memory on every poll.
	MaxSize int64

	modTime time.Time
	size    int64
	seen    bool
}

// Read returns the file's contents and true if its modification time or size changed
// since the previous call (always on the first), else nil and false. A version that was
// read is remembered even if the caller then rejects it, so a broken file is reported
// once per change rather than on every poll. A writer that replaces the file within the
// same mtime tick and size is missed until its next change; writers should rename a new
// file into place.
func (f *File) Read() ([]byte, bool, error) {
	fi, err := os.Stat(f.Path)
	if err != nil {
		return nil, false, err
	}
	if f.seen && fi.ModTime().Equal(f.modTime) && fi.Size() == f.size {
		return nil, false, nil
	}
	if fi.Size() > f.MaxSize {
		return nil, false, fmt.Errorf("%s is larger than %d bytes", f.Path, f.MaxSize)
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, false, err
	}
	f.modTime, f.size, f.seen = fi.ModTime(), fi.Size(), true
	return data, true, nil
}

// Every calls fn every interval until ctx ends.
func Every(ctx context.Context, interval time.Duration, fn func()) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		fn()
	}
}
