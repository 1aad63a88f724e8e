package integration

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/auth"
)

// serverCert issues a certificate for 127.0.0.1 (serverAuth) from ca.
func (ca *testCA) serverCert(t *testing.T) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "model-server"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// writeKeyPair writes c's leaf and key as PEM files for tls_client_auth.
func writeKeyPair(t *testing.T, dir, name string, c tls.Certificate) (string, string) {
	t.Helper()
	kb, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	// Not *.crt / *.key: caddytest rewrites such paths to its own directory.
	cp, kp := filepath.Join(dir, name+"-cert.pem"), filepath.Join(dir, name+"-key.pem")
	if os.WriteFile(cp, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600) != nil ||
		os.WriteFile(kp, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600) != nil {
		t.Fatal("writing key pair")
	}
	return cp, kp
}

// TestSecureUpstream: the gateway reaches a real TLS model server that demands a client
// certificate (mTLS), presents its own, injects the provider key with header_up and never
// forwards the client's key; with the wrong trust pool it answers an API-shaped 502.
func TestSecureUpstream(t *testing.T) {
	dir := t.TempDir()
	upCA, gwCA, otherCA := newTestCA(t, "upstream CA"), newTestCA(t, "gateway client CA"), newTestCA(t, "unrelated CA")
	upCA.writePEM(t, filepath.Join(dir, "upstream-ca.pem"))
	otherCA.writePEM(t, filepath.Join(dir, "other-ca.pem"))
	certFile, keyFile := writeKeyPair(t, dir, "gateway", gwCA.client(t, "gateway", ""))

	pool := x509.NewCertPool()
	pool.AddCert(gwCA.cert)
	seen := make(chan string, 10)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{
		Certificates: []tls.Certificate{upCA.serverCert(t)},
		ClientAuth:   tls.RequireAndVerifyClientCert, ClientCAs: pool,
	})
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Get("Authorization") + "|" + r.TLS.PeerCertificates[0].Subject.CommonName
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"id":"x","object":"chat.completion","choices":[]}`)
	})}
	go srv.Serve(l)
	defer srv.Close()

	clientKey, err := auth.NewKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	port := freePort(t)
	conf := func(trust string) string {
		return fmt.Sprintf(`{
	admin localhost:2999
	default_bind 127.0.0.1
}
:%d {
	llm_auth {
		api_keys {
			key demo %s
		}
	}
	reverse_proxy https://%s {
		header_up Authorization "Bearer sk-upstream-provider-key"
		transport http {
			tls_trust_pool file %s
			tls_client_auth %s %s
		}
	}
	handle_errors {
		llm_error
	}
}`, port, auth.HashKey(clientKey), l.Addr(), filepath.Join(dir, trust), certFile, keyFile)
	}
	post := func() (int, string) {
		req, _ := http.NewRequest("POST", fmt.Sprintf("http://127.0.0.1:%d/v1/chat/completions", port),
			strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+clientKey)
		resp, err := http.DefaultClient.Do(req)
		for i := 0; err != nil && i < 5; i++ {
			// Every case reloads Caddy on the same port: a connection the old server
			// accepted while shutting down is reset. The request is safe to repeat.
			time.Sleep(100 * time.Millisecond)
			req.Body = io.NopCloser(strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
			resp, err = http.DefaultClient.Do(req)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}

	start(t, conf("upstream-ca.pem"))
	if code, body := post(); code != 200 {
		t.Fatalf("trusted upstream: %d %s", code, body)
	}
	if got := <-seen; got != "Bearer sk-upstream-provider-key|gateway" {
		t.Fatalf("upstream saw %q", got)
	}

	start(t, conf("other-ca.pem"))
	code, body := post()
	if code != 502 || !strings.Contains(body, `"error":{`) || strings.Contains(body, "<html") {
		t.Fatalf("untrusted upstream: %d %s", code, body)
	}
	select {
	case got := <-seen:
		t.Fatalf("an untrusted upstream got the request: %q", got)
	default:
	}
}
