package llmauth

import (
	"encoding/json"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2"
	"go.uber.org/zap"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

// watch registers a store on path as a provisioned api_keys source would.
func watch(t *testing.T, path string) (*auth.KeyStore, func()) {
	t.Helper()
	s, _ := auth.NewKeyStore(nil)
	kf := &auth.KeyFile{Path: path, Store: s}
	if _, err := kf.Load(); err != nil {
		t.Fatal(err)
	}
	return s, registerKeyFile(kf, zap.NewNop())
}

func adminDo(a *KeyAdmin, method, target, body string) (int, string) {
	r := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		r.Header.Set("Content-Type", "application/json")
	}
	w := httptest.NewRecorder()
	if err := a.serve(w, r); err != nil {
		ae := err.(caddy.APIError)
		return ae.HTTPStatus, ae.Err.Error()
	}
	return w.Code, w.Body.String()
}

// Two sources on one file share one registry entry and both reload after a change; a
// second file makes ?file= required; Cleanup removes a file from the API.
func TestKeyAdminRegistry(t *testing.T) {
	dir := t.TempDir()
	one, two := filepath.Join(dir, "one.json"), filepath.Join(dir, "two.json")
	for _, p := range []string{one, two} {
		if err := auth.WriteKeyFile(p, nil); err != nil {
			t.Fatal(err)
		}
	}
	a := &KeyAdmin{logger: zap.NewNop()}
	if code, msg := adminDo(a, "GET", "/llm_keys", ""); code != 404 || !strings.Contains(msg, "no loaded") {
		t.Fatalf("no files: %d %s", code, msg)
	}
	s1, un1 := watch(t, one)
	s2, un2 := watch(t, one)
	code, body := adminDo(a, "POST", "/llm_keys", `{"id":"alice"}`)
	if code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	var iss struct{ Key string }
	json.Unmarshal([]byte(body), &iss)
	for i, s := range []*auth.KeyStore{s1, s2} {
		if _, err := s.Verify(iss.Key, time.Now()); err != nil {
			t.Fatalf("store %d not reloaded after the change: %v", i, err)
		}
	}
	s3, un3 := watch(t, two)
	defer un3()
	if code, msg := adminDo(a, "GET", "/llm_keys", ""); code != 400 || !strings.Contains(msg, "?file=") {
		t.Fatalf("two files without ?file=: %d %s", code, msg)
	}
	if code, _ := adminDo(a, "POST", "/llm_keys?file="+two, `{"id":"bob"}`); code != 201 || s3.Len() != 1 || s1.Len() != 1 {
		t.Fatalf("create in the chosen file: %d, lens %d %d", code, s3.Len(), s1.Len())
	}
	un1()
	if code, _ := adminDo(a, "GET", "/llm_keys?file="+one, ""); code != 200 {
		t.Fatal("the file went away while a second source still uses it")
	}
	un2()
	if code, _ := adminDo(a, "GET", "/llm_keys?file="+one, ""); code != 404 {
		t.Fatal("a file no source uses any more is still administered")
	}
	if code, _ := adminDo(a, "GET", "/llm_keys", ""); code != 200 {
		t.Fatal("with one file left, ?file= should not be needed")
	}
}
