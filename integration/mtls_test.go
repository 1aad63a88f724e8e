package integration

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddytest"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

// testCA is a certificate authority made for one test, so that the client certificates
// are real X.509 chains that Caddy's client_auth has to verify.
type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

func newTestCA(t *testing.T, name string) *testCA {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return &testCA{cert: cert, key: key}
}

// writePEM writes the CA certificate where the gateway's trust pool reads it.
func (ca *testCA) writePEM(t *testing.T, path string) {
	t.Helper()
	b := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.cert.Raw})
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// client issues a client certificate (clientAuth usage, which Go's verifier demands of
// client chains) with the given common name and optional URI SAN.
func (ca *testCA) client(t *testing.T, cn, uri string) tls.Certificate {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"llmguard tests"}},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	if uri != "" {
		u, err := url.Parse(uri)
		if err != nil {
			t.Fatal(err)
		}
		tmpl.URIs = []*url.URL{u}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
}

// caddyLocalRoot fetches the root of Caddy's internal CA from the admin API, so the test
// client verifies the gateway's `tls internal` certificate for real instead of skipping
// server verification.
func caddyLocalRoot(t *testing.T) *x509.CertPool {
	t.Helper()
	resp, err := http.Get(fmt.Sprintf("http://localhost:%d/pki/ca/local", caddytest.Default.AdminPort))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ca struct {
		Root string `json:"root_certificate"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&ca); err != nil || resp.StatusCode != 200 {
		t.Fatalf("/pki/ca/local: %d %v", resp.StatusCode, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM([]byte(ca.Root)) {
		t.Fatalf("/pki/ca/local: no root certificate in %q", ca.Root)
	}
	return pool
}

// waitForCert waits until the gateway presents a certificate that roots verify: Caddy
// obtains it from its internal CA in the background after the config loads, and until
// then handshakes fail with "internal error".
func waitForCert(t *testing.T, addr string, roots *x509.CertPool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: time.Second}, "tcp", addr,
			&tls.Config{RootCAs: roots, ServerName: "localhost"})
		if err == nil {
			conn.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no verifiable certificate on %s after 10s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// remoteAlert reports whether err is a TLS alert sent by the server whose text contains
// want ("certificate required", "unknown certificate authority", …). With TLS 1.3 the
// client finishes its handshake before the server has checked the client certificate,
// so the refusal arrives as an alert on the first read of the response.
func remoteAlert(err error, want string) bool {
	var op *net.OpError
	return errors.As(err, &op) && op.Op == "remote error" && strings.Contains(op.Err.Error(), want)
}

// TestMTLSExample runs examples/mtls/Caddyfile through a real TLS listener with
// client_auth require_and_verify and drives it with the official OpenAI SDK presenting
// client certificates.
func TestMTLSExample(t *testing.T) {
	dir := t.TempDir()
	ca := newTestCA(t, "llmguard test client CA")
	caFile := filepath.Join(dir, "client-ca.pem")
	ca.writePEM(t, caFile)
	t.Setenv("LLMGUARD_MTLS_CA", caFile)
	t.Setenv("OPENAI_API_KEY", "sk-upstream-not-a-client-key")

	chatCert := ca.client(t, "svc-chat", "spiffe://example/chat")
	batchCert := ca.client(t, "svc-batch", "spiffe://example/batch")
	noURICert := ca.client(t, "svc-legacy", "")
	// Same names as svc-chat, but from a CA the gateway does not trust.
	rogueCert := newTestCA(t, "rogue CA").client(t, "svc-chat", "spiffe://example/chat")

	cfg, ports := example(t, "mtls", 8443, 8081)
	start(t, cfg)
	roots := caddyLocalRoot(t)
	base := fmt.Sprintf("https://localhost:%d", ports[8443])
	waitForCert(t, fmt.Sprintf("localhost:%d", ports[8443]), roots)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	httpClient := func(cert *tls.Certificate) *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
			RootCAs: roots, MinVersion: tls.VersionTLS12,
			// Always send the certificate: with Certificates, Go would silently send none
			// when its issuer is not among the CAs the server asks for, and the rogue
			// certificate would never reach the server's verification.
			GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
				if cert == nil {
					return &tls.Certificate{}, nil
				}
				return cert, nil
			}}}}
	}
	oai := func(cert *tls.Certificate) openai.Client {
		// The SDK insists on an API key; it is dropped so that only the certificate can
		// identify the caller.
		return openai.NewClient(option.WithBaseURL(base+"/v1/"), option.WithHTTPClient(httpClient(cert)),
			option.WithAPIKey("unused"), option.WithHeaderDel("Authorization"), option.WithMaxRetries(0))
	}
	chat := openai.ChatCompletionNewParams{Model: "gpt-4o-mini",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}}
	embed := openai.EmbeddingNewParams{Model: "text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfString: openai.String("hello")}}

	t.Run("svc-chat can chat, and the upstream learns who called", func(t *testing.T) {
		c := oai(&chatCert)
		var resp *http.Response
		// A forged X-Caller from the client must be replaced by the gateway's.
		out, err := c.Chat.Completions.New(ctx, chat, option.WithResponseInto(&resp),
			option.WithHeader("X-Caller", "spiffe://example/admin"))
		if err != nil {
			t.Fatal(err)
		}
		if len(out.Choices) != 1 || out.Choices[0].Message.Content == "" {
			t.Fatalf("reply %+v", out)
		}
		if got := resp.Header.Get("X-Upstream-Caller"); got != "spiffe://example/chat" {
			t.Fatalf("upstream saw X-Caller %q, want the certificate's SPIFFE id", got)
		}
	})
	t.Run("svc-chat may not embed", func(t *testing.T) {
		c := oai(&chatCert)
		if _, err := c.Embeddings.New(ctx, embed); statusOf(err) != 403 ||
			openAIMessage(err) != "endpoint_not_allowed: Your credentials do not allow the embeddings endpoint." {
			t.Fatalf("%v", err)
		}
	})
	t.Run("svc-batch gets 403 on chat but can embed", func(t *testing.T) {
		c := oai(&batchCert)
		if _, err := c.Chat.Completions.New(ctx, chat); statusOf(err) != 403 ||
			openAIMessage(err) != "endpoint_not_allowed: Your credentials do not allow the chat endpoint." {
			t.Fatalf("chat: %v", err)
		}
		var resp *http.Response
		e, err := c.Embeddings.New(ctx, embed, option.WithResponseInto(&resp))
		if err != nil || len(e.Data) != 1 || len(e.Data[0].Embedding) == 0 {
			t.Fatalf("embeddings: %v %+v", err, e)
		}
		if got := resp.Header.Get("X-Upstream-Caller"); got != "spiffe://example/batch" {
			t.Fatalf("upstream saw X-Caller %q", got)
		}
	})
	t.Run("models list filtered by the certificate's role", func(t *testing.T) {
		c := oai(&batchCert)
		page, err := c.Models.List(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(page.Data) != 1 || page.Data[0].ID != "text-embedding-3-small" {
			t.Fatalf("models %+v", page.Data)
		}
	})
	t.Run("trusted certificate without the id field is 401", func(t *testing.T) {
		c := oai(&noURICert)
		_, err := c.Chat.Completions.New(ctx, chat)
		if statusOf(err) != 401 || openAIMessage(err) != "invalid_credentials: the client certificate has no san_uri to identify it" {
			t.Fatalf("%v", err)
		}
	})
	// Refused handshakes are checked twice: the SDK must get no HTTP response at all, and
	// a bare TLS connection must receive the server's alert. The SDK's error alone may be
	// a broken pipe instead of the alert, depending on whether its request write or read
	// sees the closed connection first.
	refused := func(t *testing.T, cert *tls.Certificate, alert string) {
		c := oai(cert)
		if _, err := c.Chat.Completions.New(ctx, chat); err == nil || statusOf(err) != 0 {
			t.Fatalf("SDK: want a connection error, got %v", err)
		}
		cfg := httpClient(cert).Transport.(*http.Transport).TLSClientConfig.Clone()
		cfg.ServerName = "localhost"
		conn, err := tls.Dial("tcp", fmt.Sprintf("localhost:%d", ports[8443]), cfg)
		if err == nil {
			// TLS 1.3: the client's handshake completes before the server has judged
			// its certificate; the verdict arrives on the first read.
			conn.SetReadDeadline(time.Now().Add(5 * time.Second))
			_, err = conn.Read(make([]byte, 1))
			conn.Close()
		}
		if !remoteAlert(err, alert) {
			t.Fatalf("want the TLS alert %q, got %v", alert, err)
		}
	}
	t.Run("no client certificate: handshake refused", func(t *testing.T) {
		refused(t, nil, "certificate required")
	})
	t.Run("certificate from another CA: handshake refused", func(t *testing.T) {
		refused(t, &rogueCert, "unknown certificate authority")
	})
	t.Run("other SNI does not bypass client_auth", func(t *testing.T) {
		// TLS connection policies are chosen by SNI, and Caddy adds a catch-all policy
		// without client_auth. A client that sends the name in other letter case, or no
		// name at all (dialling an IP address), must still get no HTTP response without
		// a certificate.
		for _, tc := range []struct{ host, sni string }{{"localhost", "LocalHost"}, {"127.0.0.1", ""}} {
			tr := &http.Transport{TLSClientConfig: &tls.Config{ServerName: tc.sni,
				// The server certificate is still verified, by hand against "localhost",
				// because Go would otherwise check it against the SNI or IP address.
				InsecureSkipVerify: true,
				VerifyConnection: func(cs tls.ConnectionState) error {
					opts := x509.VerifyOptions{Roots: roots, DNSName: "localhost", Intermediates: x509.NewCertPool()}
					for _, c := range cs.PeerCertificates[1:] {
						opts.Intermediates.AddCert(c)
					}
					_, err := cs.PeerCertificates[0].Verify(opts)
					return err
				}}}
			req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("https://%s:%d/v1/chat/completions", tc.host, ports[8443]),
				strings.NewReader(`{"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"}]}`))
			req.Host = "localhost"
			req.Header.Set("Content-Type", "application/json")
			resp, err := (&http.Client{Transport: tr}).Do(req)
			// Any error will do (an alert, or a broken pipe if the request write sees the
			// closed connection first): what matters is that no HTTP response came back.
			if err == nil {
				resp.Body.Close()
				t.Fatalf("SNI %q without a certificate: HTTP %d", tc.sni, resp.StatusCode)
			}
			t.Logf("SNI %q: %v", tc.sni, err)
		}
	})
}
