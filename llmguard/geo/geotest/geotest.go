// Package geotest builds small MaxMind-format databases for tests and demos, so that no
// test or example needs a downloaded GeoIP database. Its data is invented: it must never
// be mistaken for real geolocation.
package geotest

import (
	"fmt"
	"io"
	"net"
	"os"
	"testing"

	"github.com/maxmind/mmdbwriter"
	"github.com/maxmind/mmdbwriter/mmdbtype"
)

// Build writes a small Country database (no downloaded data) to w, mapping each CIDR to a
// country and continent code. An empty country gives the network only a
// registered_country (SE), as GeoLite2 does for some anycast ranges.
func Build(w io.Writer, nets map[string][2]string) error {
	tree, err := mmdbwriter.New(mmdbwriter.Options{DatabaseType: "GeoLite2-Country", RecordSize: 24, IncludeReservedNetworks: true, Description: map[string]string{"en": "llmguard test"}, Languages: []string{"en"}})
	if err != nil {
		return err
	}
	for cidr, cc := range nets {
		_, n, err := net.ParseCIDR(cidr)
		if err != nil {
			return err
		}
		rec := mmdbtype.Map{"continent": mmdbtype.Map{"code": mmdbtype.String(cc[1])}}
		if cc[0] != "" {
			rec["country"] = mmdbtype.Map{"iso_code": mmdbtype.String(cc[0])}
		} else {
			rec["registered_country"] = mmdbtype.Map{"iso_code": mmdbtype.String("SE")}
		}
		if err := tree.Insert(n, rec); err != nil {
			return fmt.Errorf("%s: %v", cidr, err)
		}
	}
	_, err = tree.WriteTo(w)
	return err
}

// WriteDB builds a database with Build and renames it into place at path, as geoipupdate
// does (so a watcher never sees a half-written file).
func WriteDB(t testing.TB, path string, nets map[string][2]string) {
	t.Helper()
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		t.Fatal(err)
	}
	if err := Build(f, nets); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
