package audit

import (
	"bytes"
	"encoding/json"
	"errors"
	"math/rand"
	"strings"
	"testing"
)

var testMAC = []byte("0123456789abcdef-test-secret")

func testKey() []byte { return bytes.Repeat([]byte{7}, 32) }

// seal writes n entries MACed with testMAC and returns the record lines.
func seal(t testing.TB, encrypt bool, seed int64, n int) []string {
	t.Helper()
	return sealWith(t, testMAC, encrypt, seed, n)
}

// sealWith is seal under another MAC key: a forger's records.
func sealWith(t testing.TB, mac []byte, encrypt bool, seed int64, n int) []string {
	t.Helper()
	var key []byte
	if encrypt {
		key = testKey()
	}
	s, err := NewSealer(mac, "k1", key, rand.New(rand.NewSource(seed)))
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for i := range n {
		line, err := s.Seal([]byte(`{"msg":"llm request", "n":` + string(rune('0'+i)) + `}` + "\n"))
		if err != nil {
			t.Fatal(err)
		}
		lines = append(lines, string(line))
	}
	return lines
}

func verify(files ...[]string) (*Verifier, error) {
	v := NewVerifier(testMAC)
	for i, f := range files {
		if err := v.Check("f"+string(rune('0'+i)), strings.NewReader(strings.Join(f, ""))); err != nil {
			return v, err
		}
	}
	return v, nil
}

func TestChainDetectsTampering(t *testing.T) {
	for _, encrypt := range []bool{false, true} {
		good := seal(t, encrypt, 1, 5)
		edited := append([]string(nil), good...)
		if encrypt {
			// change one base64 character of the ciphertext
			i := strings.Index(edited[2], `"ct":"`) + 8
			b := []byte(edited[2])
			if b[i] == 'A' {
				b[i] = 'B'
			} else {
				b[i] = 'A'
			}
			edited[2] = string(b)
		} else {
			edited[2] = strings.Replace(edited[2], `"n":2`, `"n":9`, 1)
		}
		tests := []struct {
			name   string
			lines  []string
			reason string
			line   int
		}{
			{"intact", good, "", 0},
			{"edited", edited, "altered", 3},
			{"deleted", append(append([]string{}, good[:2]...), good[3:]...), "seq 2 to 2 of chain", 3},
			{"reordered", []string{good[0], good[2], good[1], good[3]}, "missing", 2},
			{"duplicated", []string{good[0], good[1], good[1]}, "out of order", 3},
			{"truncated line", []string{good[0], good[1][:30] + "\n"}, "not an llmguard audit record", 2},
			{"forged with another key", sealWith(t, []byte("another-secret-of-16+bytes"), encrypt, 1, 1), "MAC mismatch", 1},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := verify(tt.lines)
				if tt.reason == "" {
					if err != nil {
						t.Fatalf("intact chain rejected: %v", err)
					}
					return
				}
				var p *Problem
				if !errors.As(err, &p) {
					t.Fatalf("want a Problem, got %v", err)
				}
				if !strings.Contains(p.Reason, tt.reason) || p.Line != tt.line {
					t.Fatalf("got %v; want reason containing %q at line %d", err, tt.reason, tt.line)
				}
			})
		}
	}
}

func TestChainAcrossRolledFilesAndRestarts(t *testing.T) {
	lines := seal(t, false, 1, 6)
	restart := seal(t, false, 2, 2) // a second writer: new chain from seq 0
	v, err := verify(lines[:3], lines[3:], restart)
	if err != nil {
		t.Fatal(err)
	}
	if v.Report.Records != 8 || v.Report.Chains != 2 || v.Report.MidChainStart {
		t.Fatalf("report %+v", v.Report)
	}
	// A whole rolled file missing between two files is detected.
	if _, err := verify(lines[:2], lines[4:]); err == nil || !strings.Contains(err.Error(), "seq 2 to 3") {
		t.Fatalf("missing file not detected: %v", err)
	}
	// The oldest files having been deleted by retention is not an error, but reported.
	v, err = verify(lines[3:])
	if err != nil || !v.Report.MidChainStart || v.Report.FirstSeq != 3 {
		t.Fatalf("mid-chain start: %v %+v", err, v.Report)
	}
	// The tail of a chain cut off before the next chain starts mid-way is detected.
	if _, err := verify(lines[:2], restart[1:]); err == nil || !strings.Contains(err.Error(), "without its start") {
		t.Fatalf("spliced chain not detected: %v", err)
	}
}

func TestEncryptedRoundTrip(t *testing.T) {
	lines := seal(t, true, 3, 3)
	if strings.Contains(strings.Join(lines, ""), "llm request") {
		t.Fatal("plaintext visible in encrypted records")
	}
	if _, err := verify(lines); err != nil {
		t.Fatalf("encrypted chain does not verify without the key: %v", err)
	}
	keys := Keyring{}
	if err := keys.Add("k1", testKey()); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := Decrypt("f", strings.NewReader(strings.Join(lines, "")), keys, &out); err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(got) != 3 || got[1] != `{"msg":"llm request","n":1}` {
		t.Fatalf("decrypted %q", got)
	}
	// Wrong key and unknown key id fail, without printing a key.
	bad := Keyring{}
	_ = bad.Add("k1", bytes.Repeat([]byte{8}, 32))
	if err := Decrypt("f", strings.NewReader(lines[0]), bad, &out); err == nil || !strings.Contains(err.Error(), "does not decrypt") {
		t.Fatalf("wrong key: %v", err)
	}
	if err := Decrypt("f", strings.NewReader(lines[0]), Keyring{}, &out); err == nil || !strings.Contains(err.Error(), `no key for key id "k1"`) {
		t.Fatalf("unknown kid: %v", err)
	}
}

func TestSealNonJSONAndKeys(t *testing.T) {
	s, err := NewSealer(testMAC, "", nil, rand.New(rand.NewSource(1)))
	if err != nil {
		t.Fatal(err)
	}
	line, _ := s.Seal([]byte("plain <text> & \"quotes\"\n"))
	var rec record
	if err := json.Unmarshal(line, &rec); err != nil || string(rec.Entry) != `"plain \u003ctext\u003e \u0026 \"quotes\""` {
		t.Fatalf("%s: %v %s", line, err, rec.Entry)
	}
	if _, err := verify([]string{string(line)}); err != nil {
		t.Fatal(err)
	}
	if _, err := NewSealer([]byte("short"), "", nil, rand.New(rand.NewSource(1))); err == nil {
		t.Fatal("short MAC key accepted")
	}
	if _, err := NewSealer(testMAC, "bad id", testKey(), rand.New(rand.NewSource(1))); err == nil {
		t.Fatal("bad key id accepted")
	}
	for _, k := range []string{strings.Repeat("ab", 32), "BwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwcHBwc="} {
		if _, err := ParseAESKey(k); err != nil {
			t.Errorf("%s: %v", k, err)
		}
	}
	if _, err := ParseAESKey("secret-value"); err == nil || strings.Contains(err.Error(), "secret-value") {
		t.Fatalf("bad key: %v", err)
	}
}

func TestSetContent(t *testing.T) {
	h := NewHasher(testMAC)
	for _, tt := range []struct {
		level                        string
		prompt, hash, resp, respHash bool
	}{
		{PrivacyNone, false, false, false, false},
		{PrivacyHash, false, true, false, true},
		{PrivacyRedacted, true, true, false, true},
		{PrivacyFull, true, false, true, false},
	} {
		e := Event{Privacy: tt.level}
		if err := e.SetContent(h, "my ssn 123-45-6789", "my ssn [SSN]", "reply"); err != nil {
			t.Fatal(err)
		}
		if (e.Prompt != "") != tt.prompt || (e.PromptHash != "") != tt.hash || (e.Response != "") != tt.resp || (e.ResponseHash != "") != tt.respHash {
			t.Errorf("%s: %+v", tt.level, e)
		}
		if tt.level == PrivacyRedacted && e.Prompt != "my ssn [SSN]" {
			t.Errorf("redacted level logged %q", e.Prompt)
		}
	}
	if (&Event{Privacy: "all"}).SetContent(h, "", "", "") == nil {
		t.Error("unknown level accepted")
	}
}

func BenchmarkSeal(b *testing.B) {
	entry := []byte(`{"level":"info","ts":1732780000.123,"logger":"http.handlers.llm_audit","msg":"llm request","request_id":"0f8fad5b-d9cb-469f-a165-70867728950e","key_id":"team-a","client_ip":"10.0.0.7","endpoint":"chat","model":"gpt-4o-mini","status":200,"decision":"allow","tokens_in":812,"tokens_out":230,"latency_ms":812.4,"privacy":"none"}`)
	for _, enc := range []bool{false, true} {
		name := "hmac"
		var key []byte
		if enc {
			name, key = "hmac+aesgcm", testKey()
		}
		b.Run(name, func(b *testing.B) {
			s, _ := NewSealer(testMAC, "k1", key, rand.New(rand.NewSource(1)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Seal(entry); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// FuzzVerifyDecrypt feeds arbitrary files to the record reader: no panic, and nothing
// but a valid chain verifies.
func FuzzVerifyDecrypt(f *testing.F) {
	keys := Keyring{}
	if err := keys.Add("k1", testKey()); err != nil {
		f.Fatal(err)
	}
	// authentic holds every entry the sealer wrote; whatever the verifier accepts must
	// decrypt to entries from this set, since nobody without the MAC key can write others.
	authentic := map[string]bool{}
	for _, encrypt := range []bool{false, true} {
		lines := seal(f, encrypt, 1, 3)
		var out bytes.Buffer
		if err := Decrypt("seed", strings.NewReader(strings.Join(lines, "")), keys, &out); err != nil {
			f.Fatal(err)
		}
		for _, e := range strings.SplitAfter(out.String(), "\n") {
			authentic[e] = e != ""
		}
		f.Add(strings.Join(lines, ""))
		// Forgeries the verifier must refuse: an edited entry, a record from another key.
		f.Add(strings.Replace(strings.Join(lines, ""), `"n":1`, `"n":7`, 1))
		f.Add(strings.Join(sealWith(f, []byte("another-secret-of-16+bytes"), encrypt, 1, 2), ""))
	}
	f.Add(`{"v":1,"chain":"x","seq":0,"prev":"","entry":{},"mac":"00"}`)
	f.Fuzz(func(t *testing.T, in string) {
		v := NewVerifier(testMAC)
		verr := v.Check("f", strings.NewReader(in))
		var out bytes.Buffer
		derr := Decrypt("f", strings.NewReader(in), keys, &out)
		if verr != nil {
			return
		}
		if derr != nil {
			t.Fatalf("verified records do not decrypt: %v", derr)
		}
		n := 0
		for _, e := range strings.SplitAfter(out.String(), "\n") {
			if e == "" {
				continue
			}
			n++
			if !authentic[e] {
				t.Fatalf("verifier accepted a record whose entry was never sealed: %q", e)
			}
		}
		if n != v.Report.Records {
			t.Fatalf("verified %d records, decrypted %d", v.Report.Records, n)
		}
	})
}
