// Package alert delivers security events to a webhook: batched, from a bounded queue, with
// retries (exponential backoff with jitter), an HMAC-SHA256 signature over the body, and
// suppression of identical events within a window so that an attack does not become a
// self-inflicted flood.
//
// Enqueue never blocks and never fails: a slow or dead receiver must never slow or fail
// the requests whose events it carries. What cannot be delivered is counted, not retried
// forever. It must never add data to an event: it forwards the JSON lines it is given.
package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/secevent"
)

// SignatureHeader carries "sha256=<hex HMAC-SHA256 of timestamp + "." + body>" and
// TimestampHeader the Unix time it was signed at; the receiver recomputes it with the
// shared secret and rejects old timestamps, so a captured request cannot be replayed
// later.
const (
	SignatureHeader = "X-Llmguard-Signature"
	TimestampHeader = "X-Llmguard-Timestamp"
)

// Config configures a Sender. Zero values take the defaults named.
type Config struct {
	URL    string
	Secret []byte // required: an unsigned alert could be forged by anyone who finds the URL
	Client *http.Client
	// QueueSize bounds the events waiting for delivery (default 10,000); more are dropped.
	QueueSize int
	// BatchSize is the most events per request (default 100).
	BatchSize int
	// FlushInterval is the longest an event waits for a batch to fill (default 1s).
	FlushInterval time.Duration
	// MaxAttempts per batch (default 5); then the batch is dead-lettered.
	MaxAttempts int
	// Backoff is the first retry's wait, doubled per attempt with ±50% jitter
	// (default 500ms, capped at 30s).
	Backoff time.Duration
	// DedupWindow suppresses an event identical to one sent within it (default 1m).
	DedupWindow time.Duration
	// Format shapes a batch into a request body: FormatGeneric (default), FormatSlack or
	// FormatSplunkHEC.
	Format Format
	// Header is sent with every request (e.g. Splunk's "Authorization: Splunk <token>").
	Header http.Header
	// Observe, when set, is told of every outcome ("sent", "dropped", "deduplicated",
	// "dead_letter", "retry") and how many events it concerned, for metrics.
	Observe func(outcome string, n int)
}

// Stats counts what happened to the events.
type Stats struct {
	Sent, Dropped, Deduplicated, DeadLettered, Retries uint64
}

// Sender is a running delivery queue. Close stops it, flushing what it can.
type Sender struct {
	cfg   Config
	queue chan []byte
	done  chan struct{}
	wg    sync.WaitGroup
	ctx   context.Context
	stop  context.CancelFunc

	seen *secevent.Once // bounded: a flood of distinct events cannot grow it

	sent, dropped, dedup, dead, retries atomic.Uint64 // read through Stats; add through count
	now                                 func() time.Time
	sleep                               func(ctx context.Context, d time.Duration) bool
}

// New starts a Sender.
func New(cfg Config) (*Sender, error) {
	if cfg.URL == "" || len(cfg.Secret) == 0 {
		return nil, fmt.Errorf("alert: a webhook url and a signing secret are required")
	}
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	defD := func(v *time.Duration, d time.Duration) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&cfg.QueueSize, 10000)
	def(&cfg.BatchSize, 100)
	def(&cfg.MaxAttempts, 5)
	defD(&cfg.FlushInterval, time.Second)
	defD(&cfg.Backoff, 500*time.Millisecond)
	defD(&cfg.DedupWindow, time.Minute)
	if cfg.Format == nil {
		cfg.Format = FormatGeneric
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: 10 * time.Second}
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &Sender{cfg: cfg, queue: make(chan []byte, cfg.QueueSize), done: make(chan struct{}), ctx: ctx, stop: stop,
		seen: secevent.NewOnce(10000), now: time.Now, sleep: sleepCtx}
	s.wg.Add(1)
	go s.run()
	return s, nil
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// Enqueue queues one event (a JSON object) for delivery. It never blocks: when the queue
// is full the event is dropped and counted.
func (s *Sender) Enqueue(event []byte) {
	if s.duplicate(event) {
		s.count(&s.dedup, "deduplicated", 1)
		return
	}
	ev := bytes.Clone(bytes.TrimSpace(event))
	select {
	case s.queue <- ev:
	default:
		s.count(&s.dropped, "dropped", 1)
	}
}

// duplicate reports whether an identical event was queued within the dedup window. The
// timestamp fields are left out of the comparison, since they differ for every line.
func (s *Sender) duplicate(event []byte) bool {
	var m map[string]json.RawMessage
	key := event
	if json.Unmarshal(event, &m) == nil {
		for _, k := range []string{"ts", "@timestamp", "time"} {
			delete(m, k)
		}
		key, _ = json.Marshal(m) // map keys are sorted: a canonical form
	}
	now := s.now()
	return !s.seen.First(string(key), now, now.Add(s.cfg.DedupWindow))
}

func (s *Sender) run() {
	defer s.wg.Done()
	tick := time.NewTicker(s.cfg.FlushInterval)
	defer tick.Stop()
	var batch [][]byte
	flush := func() {
		if len(batch) > 0 {
			s.deliver(batch)
			batch = nil
		}
	}
	for {
		select {
		case ev := <-s.queue:
			batch = append(batch, ev)
			if len(batch) >= s.cfg.BatchSize {
				flush()
			}
		case <-tick.C:
			flush()
		case <-s.done:
			// Drain what is queued, then one last attempt each (the context may already
			// be cancelled by Close's deadline).
			for {
				select {
				case ev := <-s.queue:
					batch = append(batch, ev)
					if len(batch) >= s.cfg.BatchSize {
						flush()
					}
				default:
					flush()
					return
				}
			}
		}
	}
}

// Format turns a batch of events (JSON objects) into a request body.
type Format func(batch [][]byte) []byte

// FormatGeneric is a JSON array of the events.
func FormatGeneric(batch [][]byte) []byte {
	body := append([]byte{'['}, bytes.Join(batch, []byte{','})...)
	return append(body, ']')
}

// FormatSlack is a Slack incoming-webhook message: one line per event with its code,
// action and message, so the channel shows what happened without a parser.
func FormatSlack(batch [][]byte) []byte {
	var lines []string
	for _, ev := range batch {
		var m map[string]any
		if json.Unmarshal(ev, &m) != nil {
			continue
		}
		lines = append(lines, fmt.Sprintf("*%v* %v: %v (severity %v)", m["event.code"], m["event.action"], m["msg"], m["event.severity"]))
	}
	body, _ := json.Marshal(map[string]string{"text": strings.Join(lines, "\n")})
	return body
}

// FormatSplunkHEC is Splunk's HTTP Event Collector batch: one {"event": …} object per
// event, concatenated, with sourcetype llmguard:security.
func FormatSplunkHEC(batch [][]byte) []byte {
	var b bytes.Buffer
	for _, ev := range batch {
		b.WriteString(`{"sourcetype":"llmguard:security","event":`)
		b.Write(ev)
		b.WriteString("}\n")
	}
	return b.Bytes()
}

// deliver posts one batch, retrying with backoff; a batch that never succeeds is
// dead-lettered.
func (s *Sender) deliver(batch [][]byte) {
	body := s.cfg.Format(batch)
	wait := s.cfg.Backoff
	for attempt := 1; ; attempt++ {
		ok, retry := s.post(body)
		if ok {
			s.count(&s.sent, "sent", len(batch))
			return
		}
		if !retry || attempt >= s.cfg.MaxAttempts {
			s.count(&s.dead, "dead_letter", len(batch))
			return
		}
		s.count(&s.retries, "retry", 1)
		jittered := wait/2 + time.Duration(rand.Int64N(int64(wait)))
		if !s.sleep(s.ctx, jittered) {
			s.count(&s.dead, "dead_letter", len(batch))
			return
		}
		wait = min(wait*2, 30*time.Second)
	}
}

// Sign returns the signature header value for body signed at ts.
func Sign(secret []byte, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(strconv.FormatInt(ts, 10)))
	mac.Write([]byte{'.'})
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// post sends body once. It reports success, and whether a failure is worth retrying
// (network errors, 408, 429, 5xx; other 4xx mean the request itself is wrong).
func (s *Sender) post(body []byte) (ok, retry bool) {
	req, err := http.NewRequestWithContext(s.ctx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return false, false
	}
	ts := s.now().Unix()
	for k, v := range s.cfg.Header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(TimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(SignatureHeader, Sign(s.cfg.Secret, ts, body))
	resp, err := s.cfg.Client.Do(req)
	if err != nil {
		return false, true
	}
	resp.Body.Close()
	switch {
	case resp.StatusCode < 300:
		return true, false
	case resp.StatusCode == 408 || resp.StatusCode == 429 || resp.StatusCode >= 500:
		return false, true
	}
	return false, false
}

// count adds n to counter c, known to Observe as outcome.
func (s *Sender) count(c *atomic.Uint64, outcome string, n int) {
	c.Add(uint64(n))
	if s.cfg.Observe != nil {
		s.cfg.Observe(outcome, n)
	}
}

// Stats returns the counters.
func (s *Sender) Stats() Stats {
	return Stats{Sent: s.sent.Load(), Dropped: s.dropped.Load(), Deduplicated: s.dedup.Load(),
		DeadLettered: s.dead.Load(), Retries: s.retries.Load()}
}

// Close stops the sender: queued events get until grace to be delivered, then pending
// requests and backoffs are cancelled and what is left is dead-lettered.
func (s *Sender) Close(grace time.Duration) {
	close(s.done)
	t := time.AfterFunc(grace, s.stop)
	s.wg.Wait()
	t.Stop()
	s.stop()
}
