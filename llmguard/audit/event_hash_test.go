package audit

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"sync"
	"testing"
)

// TestHasherSum: the pooled Sum is HMAC-SHA256 of the whole text (texts shorter and
// longer than its copy buffer, the empty one), also from several goroutines at once.
func TestHasherSum(t *testing.T) {
	key := []byte("0123456789abcdef0123456789abcdef")
	h := NewHasher(key)
	want := func(s string) string {
		m := hmac.New(sha256.New, key)
		m.Write([]byte(s))
		return "hmac-sha256:" + hex.EncodeToString(m.Sum(nil))
	}
	texts := []string{"", "Say hello", strings.Repeat("x", 1024), strings.Repeat("héllo ", 700)}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 50; i++ {
				for _, s := range texts {
					if got := h.Sum(s); got != want(s) {
						t.Errorf("Sum(%d bytes) = %s, want %s", len(s), got, want(s))
						return
					}
				}
			}
		}()
	}
	wg.Wait()
}
