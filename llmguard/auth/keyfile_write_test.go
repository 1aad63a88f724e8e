package auth

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteKeyFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	in := []*Entry{
		{ID: "a", Hash: HashKey("x"), Attributes: Attributes{Scopes: []string{"llm:chat"}}},
		{ID: "b", Hash: HashKey("y"), Disabled: true},
	}
	if err := WriteKeyFile(path, in); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("new key file mode = %v, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, err := ParseKeyFile(data)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].ID != "a" || out[1].ID != "b" || !out[1].Disabled || out[0].Hash != in[0].Hash {
		t.Fatalf("round trip changed the entries: %+v", out)
	}

	// Rewriting keeps the existing mode and leaves no temporary file behind.
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if err := WriteKeyFile(path, in[:1]); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o640 {
		t.Errorf("rewrite changed the mode to %v", fi.Mode().Perm())
	}
	names, _ := os.ReadDir(filepath.Dir(path))
	if len(names) != 1 {
		t.Errorf("directory holds %d files after the write, want only the key file", len(names))
	}
}

func TestWriteKeyFileEmptyIsArray(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys.json")
	if err := WriteKeyFile(path, nil); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(path)
	out, err := ParseKeyFile(data)
	if err != nil || len(out) != 0 {
		t.Fatalf("empty set: %v %v", out, err)
	}
}

func TestWriteKeyFileMissingDir(t *testing.T) {
	path := filepath.Join(t.TempDir(), "no", "such", "keys.json")
	if err := WriteKeyFile(path, nil); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
}
