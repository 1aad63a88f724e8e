//go:build ignore

// make-geo-demo writes geo-demo.mmdb, the invented geo database of examples/edge: a few
// documentation networks (RFC 5737, RFC 3849) given made-up countries, so the example runs
// without downloading GeoLite2. Never use it outside the demo. Regenerate with
//
//	go run make-geo-demo.go
package main

import (
	"log"
	"os"

	"github.com/llmguard/caddy-llmguard/llmguard/geo/geotest"
)

// demoNetworks is the demo's whole map of the world (network → country, continent).
// Everything else, loopback and private ranges included, is "unknown".
var demoNetworks = map[string][2]string{
	"192.0.2.0/24":     {"DE", "EU"},
	"198.51.100.0/24":  {"US", "NA"},
	"203.0.113.0/24":   {"JP", "AS"},
	"2001:db8:de::/48": {"DE", "EU"},
	"2001:db8:ee::/48": {"RU", "EU"},
}

func main() {
	f, err := os.Create("geo-demo.mmdb")
	if err != nil {
		log.Fatal(err)
	}
	if err := geotest.Build(f, demoNetworks); err != nil {
		log.Fatal(err)
	}
	if err := f.Close(); err != nil {
		log.Fatal(err)
	}
}
