// Package geo maps client addresses to a country and continent with a MaxMind-format
// database (GeoLite2/GeoIP2 Country or City .mmdb), kept in step with its file on disk.
//
// It must never fail open by accident: an address the database does not cover, a private
// address or a lookup error is Unknown, and it is the caller's written policy (allow lists
// refuse Unknown unless they name it) that decides what Unknown may do. It never logs
// addresses.
package geo

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/oschwald/maxminddb-golang/v2"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/filepoll"
)

// Unknown is the country and continent of an address the database has no answer for. It
// cannot be mistaken for a code: country codes have two letters.
const Unknown = "unknown"

// maxDatabase bounds the file read into memory (GeoIP2 City is about 130 MB).
const maxDatabase = 512 << 20

// Location is where an address is registered or used.
type Location struct {
	// Country is the ISO 3166-1 alpha-2 code in upper case ("DE"), or Unknown.
	Country string
	// Continent is the two-letter continent code (AF AN AS EU NA OC SA), or Unknown.
	Continent string
}

// record is the part of a GeoLite2/GeoIP2 Country or City record that is read.
type record struct {
	Country struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"country"`
	// RegisteredCountry answers for networks with no "country" (anycast, some mobile and
	// satellite ranges): where the network is registered is the best available answer.
	RegisteredCountry struct {
		ISOCode string `maxminddb:"iso_code"`
	} `maxminddb:"registered_country"`
	Continent struct {
		Code string `maxminddb:"code"`
	} `maxminddb:"continent"`
}

// DB answers lookups from the current version of a database file. It is safe for
// concurrent use; a reload swaps the whole reader, so a lookup sees the old or the new
// database, never a mix.
type DB struct {
	file   filepoll.File
	reader atomic.Pointer[maxminddb.Reader]
}

// Open reads and verifies the database at path. A missing, empty, corrupt or non-geo file
// is an error that says which.
func Open(path string) (*DB, error) {
	d := &DB{file: filepoll.File{Path: path, MaxSize: maxDatabase}}
	if _, err := d.Reload(); err != nil {
		return nil, err
	}
	return d, nil
}

// Path is the database file.
func (d *DB) Path() string { return d.file.Path }

// Reload reads the file again if its modification time or size changed, and installs it
// if it is a valid database. It reports whether a new database was installed. On error
// the previous database stays in use: a half-copied download must not turn every client
// into Unknown.
func (d *DB) Reload() (bool, error) {
	data, changed, err := d.file.Read()
	if err != nil || !changed {
		return false, err
	}
	r, err := parse(data)
	if err != nil {
		return false, fmt.Errorf("geo database %s: %v", d.file.Path, err)
	}
	d.reader.Store(r)
	return true, nil
}

// parse opens data as a MaxMind DB and checks that it is whole and holds country data.
// Verify walks the search tree and data section once, so a truncated or corrupted file is
// refused at load instead of failing lookups at random later.
func parse(data []byte) (*maxminddb.Reader, error) {
	r, err := maxminddb.OpenBytes(data)
	if err != nil {
		return nil, fmt.Errorf("not a MaxMind DB file: %v", err)
	}
	if err := r.Verify(); err != nil {
		return nil, fmt.Errorf("corrupt database: %v", err)
	}
	if r.Metadata.IPVersion != 6 {
		// An IPv4-only database cannot place an IPv6 client; admitting it would make every
		// IPv6 caller Unknown without a word.
		return nil, errors.New("the database must cover IPv6 (ip_version 6), as GeoLite2 and GeoIP2 do")
	}
	return r, nil
}

// Lookup returns the location of addr. IPv4-mapped IPv6 addresses are looked up as IPv4.
func (d *DB) Lookup(addr netip.Addr) Location {
	unknown := Location{Country: Unknown, Continent: Unknown}
	if !addr.IsValid() {
		return unknown
	}
	var rec record
	res := d.reader.Load().Lookup(addr.Unmap().WithZone(""))
	if !res.Found() || res.Decode(&rec) != nil {
		return unknown
	}
	loc := unknown
	if c, ok := normCountry(rec.Country.ISOCode); ok {
		loc.Country = c
	} else if c, ok := normCountry(rec.RegisteredCountry.ISOCode); ok {
		loc.Country = c
	}
	if c, ok := normContinent(rec.Continent.Code); ok {
		loc.Continent = c
	}
	return loc
}

// Watch reloads the file every interval until ctx ends, logging (without addresses) what
// happened. Polling mtime and size works on every filesystem and costs one stat per
// interval; geoipupdate renames a new file into place, which always changes both.
func (d *DB) Watch(ctx context.Context, interval time.Duration, logger *zap.Logger) {
	filepoll.Every(ctx, interval, func() {
		changed, err := d.Reload()
		switch {
		case err != nil:
			logger.Error("geo database not reloaded; keeping the previous one", zap.String("path", d.file.Path), zap.Error(err))
		case changed:
			logger.Info("geo database reloaded", zap.String("path", d.file.Path))
		}
	})
}
