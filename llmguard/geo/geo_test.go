package geo

import (
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/geo/geotest"
)

func TestLookup(t *testing.T) {
	path := filepath.Join(t.TempDir(), "country.mmdb")
	geotest.WriteDB(t, path, map[string][2]string{
		"203.0.113.0/24":  {"DE", "EU"},
		"2001:db8::/32":   {"JP", "AS"},
		"198.51.100.0/24": {"", "EU"}, // registered_country only
	})
	db, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	for addr, want := range map[string]Location{
		"203.0.113.7":        {"DE", "EU"},
		"::ffff:203.0.113.7": {"DE", "EU"},
		"2001:db8::1":        {"JP", "AS"},
		"198.51.100.1":       {"SE", "EU"},
		"192.0.2.1":          {Unknown, Unknown},
		"10.0.0.1":           {Unknown, Unknown},
	} {
		if got := db.Lookup(netip.MustParseAddr(addr)); got != want {
			t.Errorf("%s: got %+v, want %+v", addr, got, want)
		}
	}
	if got := db.Lookup(netip.Addr{}); got.Country != Unknown {
		t.Errorf("invalid address: %+v", got)
	}

	// A new file is picked up by Reload, without reopening; a corrupt one keeps the old.
	geotest.WriteDB(t, path, map[string][2]string{"203.0.113.0/24": {"FR", "EU"}})
	future := time.Now().Add(time.Hour) // a different mtime even on coarse filesystems
	if err := os.Chtimes(path, future, future); err != nil {
		t.Fatal(err)
	}
	if changed, err := db.Reload(); !changed || err != nil {
		t.Fatalf("reload: %v %v", changed, err)
	}
	if got := db.Lookup(netip.MustParseAddr("203.0.113.7")).Country; got != "FR" {
		t.Fatalf("after reload: %s", got)
	}
	if err := os.WriteFile(path, []byte("not a database at all, but long enough to look"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Reload(); err == nil {
		t.Fatal("a corrupt file was installed")
	}
	if got := db.Lookup(netip.MustParseAddr("203.0.113.7")).Country; got != "FR" {
		t.Fatalf("a failed reload changed the answer: %s", got)
	}
}

func TestOpenFailsClearly(t *testing.T) {
	dir := t.TempDir()
	if _, err := Open(filepath.Join(dir, "missing.mmdb")); err == nil || !strings.Contains(err.Error(), "no such file") {
		t.Errorf("missing: %v", err)
	}
	good := filepath.Join(dir, "good.mmdb")
	geotest.WriteDB(t, good, map[string][2]string{"203.0.113.0/24": {"DE", "EU"}})
	data, _ := os.ReadFile(good)
	bad := filepath.Join(dir, "truncated.mmdb")
	if err := os.WriteFile(bad, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(bad); err == nil || !strings.Contains(err.Error(), "truncated.mmdb") {
		t.Errorf("truncated: %v", err)
	}
}

func TestParseCountries(t *testing.T) {
	got, err := ParseCountries([]string{"de", "FR", "Unknown"})
	if err != nil || strings.Join(got, ",") != "DE,FR,unknown" {
		t.Fatalf("%v %v", got, err)
	}
	for _, bad := range []string{"GER", "D", "1A", ""} {
		if _, err := ParseCountries([]string{bad}); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := ParseContinents([]string{"XX"}); err == nil {
		t.Error("continent XX accepted")
	}
}

// FuzzParseCountries: an accepted code is Unknown or exactly two upper-case letters, and
// parsing is idempotent.
func FuzzParseCountries(f *testing.F) {
	for _, s := range []string{"DE", "de", "unknown", "GER", "", "ü1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseCountries([]string{s})
		if err != nil {
			return
		}
		c := got[0]
		if c != Unknown && (len(c) != 2 || !isLetters(c)) {
			t.Fatalf("%q accepted as %q", s, c)
		}
		again, err := ParseCountries(got)
		if err != nil || again[0] != c {
			t.Fatalf("not idempotent: %q → %q → %v %v", s, c, again, err)
		}
	})
}
