package alert

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var secret = []byte("test signing secret")

// receiver is a webhook that checks the signature and collects the events.
type receiver struct {
	mu     sync.Mutex
	events []map[string]any
	calls  atomic.Int64
	badSig atomic.Int64
}

func (rc *receiver) handler(status int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rc.calls.Add(1)
		body, _ := io.ReadAll(r.Body)
		ts, _ := strconv.ParseInt(r.Header.Get(TimestampHeader), 10, 64)
		if r.Header.Get(SignatureHeader) != Sign(secret, ts, body) {
			rc.badSig.Add(1)
			w.WriteHeader(401)
			return
		}
		var batch []map[string]any
		if err := json.Unmarshal(body, &batch); err != nil {
			w.WriteHeader(400)
			return
		}
		if status < 300 {
			rc.mu.Lock()
			rc.events = append(rc.events, batch...)
			rc.mu.Unlock()
		}
		w.WriteHeader(status)
	}
}

func event(code string, n int) []byte {
	return fmt.Appendf(nil, `{"ts":%d.5,"event.code":%q,"n":%d}`+"\n", n, code, n)
}

func TestDeliverySignedBatchedDeduplicated(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc.handler(200))
	defer srv.Close()
	s, err := New(Config{URL: srv.URL, Secret: secret, BatchSize: 2, FlushInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 5 {
		s.Enqueue(event("LLMG-2001", i))
	}
	// The same event again (only the timestamp differs): suppressed.
	s.Enqueue([]byte(`{"ts":99,"event.code":"LLMG-2001","n":0}`))
	s.Close(10 * time.Second)
	st := s.Stats()
	if st.Sent != 5 || st.Deduplicated != 1 || st.DeadLettered != 0 || rc.badSig.Load() != 0 || len(rc.events) != 5 {
		t.Fatalf("stats %+v, %d events received, %d bad signatures", st, len(rc.events), rc.badSig.Load())
	}
	if rc.calls.Load() < 3 {
		t.Fatalf("5 events in batches of at most 2 took %d requests", rc.calls.Load())
	}
	// A wrong secret fails the receiver's check: the signature covers the body.
	if Sign([]byte("other"), 1, []byte("[]")) == Sign(secret, 1, []byte("[]")) || Sign(secret, 1, []byte("[]")) == Sign(secret, 2, []byte("[]")) {
		t.Fatal("the signature ignores the secret or the timestamp")
	}
	if _, err := New(Config{URL: srv.URL}); err == nil {
		t.Fatal("a sender without a secret was created")
	}
}

// A receiver that answers 500 is retried with backoff, then the batch is dead-lettered; a
// 400 is not retried.
func TestRetriesThenDeadLetter(t *testing.T) {
	for _, c := range []struct {
		status      int
		calls, dead int64
	}{{500, 3, 1}, {429, 3, 1}, {400, 1, 1}} {
		rc := &receiver{}
		srv := httptest.NewServer(rc.handler(c.status))
		s, _ := New(Config{URL: srv.URL, Secret: secret, MaxAttempts: 3, Backoff: time.Millisecond, FlushInterval: 5 * time.Millisecond})
		s.Enqueue(event("LLMG-1001", 1))
		s.Close(10 * time.Second)
		srv.Close()
		st := s.Stats()
		if rc.calls.Load() != c.calls || int64(st.DeadLettered) != c.dead || st.Sent != 0 || int64(st.Retries) != c.calls-1 {
			t.Errorf("status %d: %d calls, stats %+v", c.status, rc.calls.Load(), st)
		}
	}
}

// A receiver that never answers does not block the callers: Enqueue returns at once
// however many events come (the excess is dropped and counted), and Close returns after
// its grace period. Were Enqueue to block, this test would hang.
func TestHangingReceiverNeverBlocks(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	s, _ := New(Config{URL: srv.URL, Secret: secret, QueueSize: 10, BatchSize: 1, FlushInterval: time.Millisecond})
	for i := range 1000 {
		s.Enqueue(event("LLMG-2001", i))
	}
	s.Close(50 * time.Millisecond)
	st := s.Stats()
	if st.Sent != 0 || st.Dropped < 1000-10-2 || st.Dropped+st.DeadLettered != 1000 {
		t.Fatalf("stats %+v", st)
	}
}

func TestFormats(t *testing.T) {
	batch := [][]byte{[]byte(`{"msg":"API key revoked","event.code":"LLMG-1004","event.action":"api-key-revoked","event.severity":2}`)}
	var slack struct{ Text string }
	if err := json.Unmarshal(FormatSlack(batch), &slack); err != nil || slack.Text != "*LLMG-1004* api-key-revoked: API key revoked (severity 2)" {
		t.Fatalf("slack: %q %v", slack.Text, err)
	}
	dec := json.NewDecoder(strings.NewReader(string(FormatSplunkHEC(append(batch, batch[0])))))
	n := 0
	for dec.More() {
		var hec struct {
			Sourcetype string         `json:"sourcetype"`
			Event      map[string]any `json:"event"`
		}
		if err := dec.Decode(&hec); err != nil || hec.Sourcetype != "llmguard:security" || hec.Event["event.code"] != "LLMG-1004" {
			t.Fatalf("hec: %+v %v", hec, err)
		}
		n++
	}
	if n != 2 {
		t.Fatalf("%d HEC events for 2", n)
	}
	var arr []map[string]any
	if err := json.Unmarshal(FormatGeneric(append(batch, batch[0])), &arr); err != nil || len(arr) != 2 {
		t.Fatalf("generic: %v %v", arr, err)
	}
}

// BenchmarkEnqueue is the cost a log call pays per event (dedup hash + queue), the only
// work on the request path.
func BenchmarkEnqueue(b *testing.B) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	s, _ := New(Config{URL: srv.URL, Secret: secret, QueueSize: 1 << 20})
	defer s.Close(time.Second)
	evs := make([][]byte, 1024)
	for i := range evs {
		evs[i] = fmt.Appendf(nil, `{"ts":1.5,"msg":"repeated authentication failures; address throttled","event.code":"LLMG-2001","source.ip":"192.0.2.%d","n":%d}`, i%256, i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		s.Enqueue(evs[i%len(evs)])
	}
}
