// Package geotest builds small MaxMind-format databases for tests, so that no test needs a
// downloaded GeoIP database.
package geotest

import (
	"net"
	"os"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// WriteDB builds a small Country database (no downloaded data) mapping each CIDR to a
// country and continent, and renames it into place at path as geoipupdate does.
func WriteDB(t testing.TB, path string, nets map[string][2]string) {
	t.Helper()
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", RecordSize: 24, IncludeReservedNetworks: true, Description: map[string]string{"en": "llmguard test"}, Languages: []string{"en"}})
	if err != nil {
		t.Fatal(err)
	}
	for cidr, cc := range nets {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			t.Fatal(err)
		}
		rec := mmdbtype.Map{"continent": mmdbtype.Map{"code": mmdbtype.String(cc[1])}}
		if cc[0] != "" {
			rec["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(cc[0])}
		} else {
			rec["registered_country"] = mmdbtype.Map{"iso_code": mmdbtype.String("SE")}
		}
		if err := tree.Insert(n, rec); err != nil {
			t.Fatal(err)
		}
	}
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tree.WriteTo(f); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
