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

	last os.FileInfo // the version last read; nil before the first
}

// Read returns the file's contents and true if it changed since the previous call
// (always on the first): another file renamed into place (its identity, so a same-size
// replacement within one mtime tick is seen), or a new modification time or size; else
// nil and false. A version that was read is remembered even if the caller then rejects
// it, so a broken file is reported once per change rather than on every poll. An
// in-place rewrite of the same size within one mtime tick is missed until the next
// change; writers should rename a new file into place. Not safe for concurrent use.
func (f *File) Read() ([]byte, bool, error) {
	fi, err := os.Stat(f.Path)
	if err != nil {
		return nil, false, err
	}
	if f.last != nil && os.SameFile(f.last, fi) && fi.ModTime().Equal(f.last.ModTime()) && fi.Size() == f.last.Size() {
		return nil, false, nil
	}
	if fi.Size() > f.MaxSize {
		return nil, false, fmt.Errorf("%s is larger than %d bytes", f.Path, f.MaxSize)
	}
	data, err := os.ReadFile(f.Path)
	if err != nil {
		return nil, false, err
	}
	f.last = fi
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
