// Command xbuild builds the reference gateway binary from xcaddy.json with xcaddy's own
// library, so that the README, CI and a user's `xcaddy build --with
// github.com/llmguard/caddy-llmguard` produce the same thing. xcaddy's command line reads no
// config file; its Builder type has JSON tags, so the file is simply that type.
//
// Relative replacement paths in the file are taken relative to the file's folder, since
// xcaddy builds in a temporary folder of its own.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/caddyserver/xcaddy"
)

func main() {
	config := flag.String("config", "xcaddy.json", "the xcaddy Builder as JSON")
	output := flag.String("o", filepath.Join("bin", "caddy"), "where to write the binary")
	flag.Parse()

	b, err := load(*config)
	if err != nil {
		log.Fatalf("reading %s: %v", *config, err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := os.MkdirAll(filepath.Dir(*output), 0o755); err != nil {
		log.Fatal(err)
	}
	if err := b.Build(ctx, *output); err != nil {
		log.Fatalf("build failed: %v", err)
	}
}

func load(path string) (xcaddy.Builder, error) {
	var b xcaddy.Builder
	data, err := os.ReadFile(path)
	if err != nil {
		return b, err
	}
	dec := json.NewDecoder(strings.NewReader(string(data)))
	dec.DisallowUnknownFields() // a typo in the file must not silently change the build
	if err := dec.Decode(&b); err != nil {
		return b, err
	}
	dir, err := filepath.Abs(filepath.Dir(path))
	if err != nil {
		return b, err
	}
	for i, r := range b.Replacements {
		n := string(r.New)
		if strings.HasPrefix(n, ".") {
			b.Replacements[i].New = xcaddy.ReplacementPath(filepath.Join(dir, n))
		}
	}
	// xcaddy builds with CGO_ENABLED from the file ("cgo"), default off; the gateway needs
	// no cgo, and a static binary is what users deploy.
	return b, nil
}
