package keyadmin

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

// BenchmarkChange measures one admin change (lock, read, parse, validate, write, fsync,
// rename) on key files of several sizes: the cost of an admin call, which rewrites the
// whole file.
func BenchmarkChange(b *testing.B) {
	for _, n := range []int{10, 1000, 10000} {
		b.Run(fmt.Sprintf("keys=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "keys.json")
			entries := make([]*auth.Entry, n)
			for i := range entries {
				entries[i] = &auth.Entry{ID: fmt.Sprintf("k%d", i), Hash: auth.HashKey(fmt.Sprint(i)), Attributes: auth.Attributes{Roles: []string{"dev"}}}
			}
			if err := auth.WriteKeyFile(path, entries); err != nil {
				b.Fatal(err)
			}
			f := &File{Path: path}
			var tiers [2]*Patch
			for i, t := range []string{`{"tier":"a"}`, `{"tier":"b"}`} {
				var err error
				if tiers[i], err = ParsePatch([]byte(t)); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := range b.N {
				if _, err := f.Update("k0", tiers[i%2]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
