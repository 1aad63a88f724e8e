package auth

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
)

// WriteKeyFile replaces the key file at path with entries, as a JSON array, atomically:
// it writes a temporary file in the same directory, fsyncs it and renames it into place,
// so the file watcher (and any other reader) sees either the old or the new set, never a
// half-written file that would keep the previous keys or lock callers out. The existing
// file's permission bits are kept; a new file is created 0600 since it holds key hashes.
func WriteKeyFile(path string, entries []*Entry) error {
	data, err := MarshalKeyFile(entries)
	if err != nil {
		return fmt.Errorf("key file %s: %v", path, err)
	}
	mode := os.FileMode(0o600)
	if fi, err := os.Stat(path); err == nil {
		mode = fi.Mode().Perm()
	}
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("key file %s: %v", path, err)
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("key file %s: %v", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("key file %s: %v", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("key file %s: %v", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("key file %s: %v", path, err)
	}
	if err := os.Rename(tmpName, path); err != nil {
		return fmt.Errorf("key file %s: %v", path, err)
	}
	return nil
}

// MarshalKeyFile encodes entries in the key file format (a JSON array) that ParseKeyFile
// reads: the one encoding of a key set, on disk and in a shared store.
func MarshalKeyFile(entries []*Entry) ([]byte, error) {
	if entries == nil {
		entries = []*Entry{}
	}
	data, err := json.MarshalIndent(entries, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}
