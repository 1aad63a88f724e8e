// Package remote asks an external classifier whether a prompt is unsafe: an
// OpenAI-compatible moderation endpoint (/v1/moderations, as served by OpenAI or by a
// self-hosted guard model) or a guard model behind a chat-completions endpoint that
// answers "safe" / "unsafe …" (Llama Guard served by vLLM, for example), or a text
// classifier behind Hugging Face text-embeddings-inference's POST /predict (Prompt Guard,
// DeBERTa- and ModernBERT-style injection classifiers). It is for teams
// that want an ML classifier beside the in-process detectors.
//
// It must never log or cache prompt text (the cache is keyed by a SHA-256 of the text),
// and never wait longer than its timeout: the caller decides whether an unreachable
// classifier fails open or closed.
package remote

import (
	"bytes"
	"container/list"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// API modes.
const (
	ModeModeration = "moderation" // POST {url} {"model","input":[…]} → {"results":[{"flagged","categories"}]}
	ModeChat       = "chat"       // POST {url} chat completion; reply starting with "unsafe" flags
	// ModeTEI: POST {url} {"inputs":"…","raw_scores":false} → [{"label","score"},…] (or the
	// batched [[…]] form): a label in Labels with a score at or above Threshold flags.
	ModeTEI = "tei"
)

// DefaultTEILabels are the labels that flag in tei mode when Config.Labels is empty: the
// attack labels of the common injection classifiers (Prompt Guard's INJECTION and
// JAILBREAK, protectai/deberta-v3-base-prompt-injection's INJECTION, label-index models'
// LABEL_1).
var DefaultTEILabels = []string{"INJECTION", "JAILBREAK", "LABEL_1", "MALICIOUS", "UNSAFE"}

// DefaultTEIThreshold is the score a flagging label needs in tei mode by default.
const DefaultTEIThreshold = 0.5

// Config configures a Classifier.
type Config struct {
	URL     string        // full endpoint URL, e.g. http://guard:8000/v1/moderations
	Mode    string        // ModeModeration (default) or ModeChat
	Model   string        // model name sent in the request
	APIKey  string        // sent as Bearer token when set
	Timeout time.Duration // per call; default 2s
	// CacheSize bounds the verdict cache (entries); 0 means 1024, negative disables it.
	CacheSize int
	CacheTTL  time.Duration // default 10m
	Client    *http.Client  // default: a client with Timeout
	// Labels (tei mode) are the classifier labels that flag, compared case-insensitively;
	// default DefaultTEILabels.
	Labels []string
	// Threshold (tei mode) is the score a flagging label needs; default DefaultTEIThreshold.
	Threshold float64
	// Observe, when set, is told the outcome of every Classify call and, for calls that
	// reached the classifier, how long it took (zero for cache hits): the metrics hook.
	Observe func(outcome string, elapsed time.Duration)
}

// Outcomes reported to Config.Observe.
const (
	OutcomeCached  = "cached"  // answered from the verdict cache
	OutcomeClean   = "clean"   // the classifier found nothing
	OutcomeFlagged = "flagged" // the classifier flagged the text
	OutcomeError   = "error"   // unreachable, timed out, or an answer it could not read
	// OutcomeOverloaded is reported by callers that bound concurrent calls and could not
	// start one in time (llm_filter's moderation).
	OutcomeOverloaded = "overloaded"
)

// Verdict is a classifier's answer.
type Verdict struct {
	Flagged    bool
	Categories []string // flagged categories (moderation) or codes (guard model), sorted
	// Scores are the classifier's scores by its own label, when it gives them
	// (moderation's category_scores, tei's label scores); a guard model gives none.
	Scores map[string]float64
}

// Classifier calls the remote endpoint with a bounded cache.
type Classifier struct {
	cfg   Config
	cache *cache // shared by the views WithObserve returns
}

// cache is the verdict cache: an LRU keyed by the SHA-256 of the text.
type cache struct {
	mu  sync.Mutex
	lru *list.List
	idx map[[32]byte]*list.Element
}

type entry struct {
	key     [32]byte
	verdict Verdict
	expires time.Time
}

// New validates cfg and returns a classifier.
func New(cfg Config) (*Classifier, error) {
	if cfg.URL == "" || !(strings.HasPrefix(cfg.URL, "http://") || strings.HasPrefix(cfg.URL, "https://")) {
		return nil, fmt.Errorf("remote classifier url must be an http(s) URL")
	}
	if cfg.Mode == "" {
		cfg.Mode = ModeModeration
	}
	if cfg.Mode != ModeModeration && cfg.Mode != ModeChat && cfg.Mode != ModeTEI {
		return nil, fmt.Errorf("remote classifier mode must be %s, %s or %s", ModeModeration, ModeChat, ModeTEI)
	}
	if cfg.Threshold < 0 || cfg.Threshold > 1 {
		return nil, fmt.Errorf("remote classifier threshold must be in [0,1], not %g", cfg.Threshold)
	}
	if cfg.Threshold == 0 {
		cfg.Threshold = DefaultTEIThreshold
	}
	if len(cfg.Labels) == 0 {
		cfg.Labels = DefaultTEILabels
	}
	if cfg.Mode == ModeChat && cfg.Model == "" {
		return nil, fmt.Errorf("remote classifier in chat mode needs a model")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 2 * time.Second
	}
	if cfg.CacheSize == 0 {
		cfg.CacheSize = 1024
	}
	if cfg.CacheTTL <= 0 {
		cfg.CacheTTL = 10 * time.Minute
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: cfg.Timeout}
	}
	return &Classifier{cfg: cfg, cache: &cache{lru: list.New(), idx: map[[32]byte]*list.Element{}}}, nil
}

// WithObserve returns a view of c that reports to observe instead of c's Config.Observe
// and shares c's endpoint, HTTP client and cache: one classifier configured once can
// serve several handlers (prompts and replies), each counted under its own label.
func (c *Classifier) WithObserve(observe func(outcome string, elapsed time.Duration)) *Classifier {
	cfg := c.cfg
	cfg.Observe = observe
	return &Classifier{cfg: cfg, cache: c.cache}
}

// Timeout is the bound of each call.
func (c *Classifier) Timeout() time.Duration { return c.cfg.Timeout }

// Classify returns the verdict for text, from the cache when fresh. now is the current
// time (injected for tests).
func (c *Classifier) Classify(ctx context.Context, text string, now time.Time) (Verdict, error) {
	key := sha256.Sum256([]byte(text))
	if v, ok := c.cached(key, now); ok {
		c.Observe(OutcomeCached, 0)
		return v, nil
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.Timeout)
	defer cancel()
	began := time.Now()
	var v Verdict
	var err error
	switch c.cfg.Mode {
	case ModeChat:
		v, err = c.chat(ctx, text)
	case ModeTEI:
		v, err = c.tei(ctx, text)
	default:
		v, err = c.moderation(ctx, text)
	}
	switch {
	case err != nil:
		c.Observe(OutcomeError, time.Since(began))
		return Verdict{}, err
	case v.Flagged:
		c.Observe(OutcomeFlagged, time.Since(began))
	default:
		c.Observe(OutcomeClean, time.Since(began))
	}
	c.store(key, v, now)
	return v, nil
}

// Observe reports an outcome to Config.Observe, if set.
func (c *Classifier) Observe(outcome string, elapsed time.Duration) {
	if c.cfg.Observe != nil {
		c.cfg.Observe(outcome, elapsed)
	}
}

func (c *Classifier) cached(key [32]byte, now time.Time) (Verdict, bool) {
	if c.cfg.CacheSize < 0 {
		return Verdict{}, false
	}
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	el, ok := c.cache.idx[key]
	if !ok {
		return Verdict{}, false
	}
	e := el.Value.(*entry)
	if now.After(e.expires) {
		c.cache.lru.Remove(el)
		delete(c.cache.idx, key)
		return Verdict{}, false
	}
	c.cache.lru.MoveToFront(el)
	return e.verdict, true
}

func (c *Classifier) store(key [32]byte, v Verdict, now time.Time) {
	if c.cfg.CacheSize < 0 {
		return
	}
	c.cache.mu.Lock()
	defer c.cache.mu.Unlock()
	if el, ok := c.cache.idx[key]; ok {
		el.Value.(*entry).verdict, el.Value.(*entry).expires = v, now.Add(c.cfg.CacheTTL)
		c.cache.lru.MoveToFront(el)
		return
	}
	c.cache.idx[key] = c.cache.lru.PushFront(&entry{key: key, verdict: v, expires: now.Add(c.cfg.CacheTTL)})
	for c.cache.lru.Len() > c.cfg.CacheSize {
		old := c.cache.lru.Back()
		c.cache.lru.Remove(old)
		delete(c.cache.idx, old.Value.(*entry).key)
	}
}

// maxResponse bounds what is read from the classifier.
const maxResponse = 1 << 20

func (c *Classifier) post(ctx context.Context, body any, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.cfg.URL, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	if c.cfg.APIKey != "" {
		req.Header.Set("Authorization", "Bearer "+c.cfg.APIKey)
	}
	resp, err := c.cfg.Client.Do(req)
	if err != nil {
		return fmt.Errorf("remote classifier unreachable: %v", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return fmt.Errorf("reading remote classifier response: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("remote classifier answered status %d", resp.StatusCode)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("remote classifier response is not the expected JSON: %v", err)
	}
	return nil
}

func (c *Classifier) moderation(ctx context.Context, text string) (Verdict, error) {
	req := map[string]any{"input": []string{text}}
	if c.cfg.Model != "" {
		req["model"] = c.cfg.Model
	}
	var resp struct {
		Results []struct {
			Flagged    bool               `json:"flagged"`
			Categories map[string]bool    `json:"categories"`
			Scores     map[string]float64 `json:"category_scores"`
		} `json:"results"`
	}
	if err := c.post(ctx, req, &resp); err != nil {
		return Verdict{}, err
	}
	if len(resp.Results) == 0 {
		return Verdict{}, fmt.Errorf("remote classifier returned no results")
	}
	var v Verdict
	for _, r := range resp.Results {
		v.Flagged = v.Flagged || r.Flagged
		for cat, sc := range r.Scores {
			if v.Scores == nil {
				v.Scores = map[string]float64{}
			}
			v.Scores[cat] = max(v.Scores[cat], sc)
		}
		for cat, on := range r.Categories {
			if on {
				v.Categories = append(v.Categories, cat)
			}
		}
	}
	sort.Strings(v.Categories)
	return v, nil
}

// chat asks a guard model. Llama Guard's reply format is "safe", or "unsafe" followed by
// a line of comma-separated category codes (S1…S14).
func (c *Classifier) chat(ctx context.Context, text string) (Verdict, error) {
	req := map[string]any{
		"model":       c.cfg.Model,
		"messages":    []map[string]string{{"role": "user", "content": text}},
		"max_tokens":  20,
		"temperature": 0,
	}
	var resp struct {
		Choices []struct {
			Message struct {
				Content string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if err := c.post(ctx, req, &resp); err != nil {
		return Verdict{}, err
	}
	if len(resp.Choices) == 0 {
		return Verdict{}, fmt.Errorf("remote classifier returned no choices")
	}
	reply := strings.TrimSpace(resp.Choices[0].Message.Content)
	lower := strings.ToLower(reply)
	switch {
	case strings.HasPrefix(lower, "unsafe"):
		v := Verdict{Flagged: true}
		if _, rest, ok := strings.Cut(reply, "\n"); ok {
			for _, code := range strings.Split(rest, ",") {
				if code = strings.TrimSpace(code); code != "" {
					v.Categories = append(v.Categories, code)
				}
			}
		}
		sort.Strings(v.Categories)
		return v, nil
	case strings.HasPrefix(lower, "safe"):
		return Verdict{}, nil
	}
	return Verdict{}, fmt.Errorf("remote classifier reply is neither safe nor unsafe")
}

// teiScore is one entry of text-embeddings-inference's /predict answer.
type teiScore struct {
	Label string  `json:"label"`
	Score float64 `json:"score"`
}

// tei asks a text-classification model served by text-embeddings-inference. One input
// yields a flat list of label scores; servers that always batch answer a list of lists,
// of which the first is ours.
func (c *Classifier) tei(ctx context.Context, text string) (Verdict, error) {
	var raw json.RawMessage
	if err := c.post(ctx, map[string]any{"inputs": text, "raw_scores": false}, &raw); err != nil {
		return Verdict{}, err
	}
	var scores []teiScore
	if err := json.Unmarshal(raw, &scores); err != nil {
		var batch [][]teiScore
		if err := json.Unmarshal(raw, &batch); err != nil || len(batch) == 0 {
			return Verdict{}, fmt.Errorf("remote classifier response is not a list of label scores")
		}
		scores = batch[0]
	}
	if len(scores) == 0 {
		return Verdict{}, fmt.Errorf("remote classifier returned no label scores")
	}
	v := Verdict{Scores: make(map[string]float64, len(scores))}
	for _, s := range scores {
		v.Scores[s.Label] = s.Score
	}
	return c.flagTEI(v, c.cfg.Threshold), nil
}

// flagTEI sets v's flag and categories from its label scores at threshold.
func (c *Classifier) flagTEI(v Verdict, threshold float64) Verdict {
	v.Flagged, v.Categories = false, nil
	for label, score := range v.Scores {
		if score >= threshold && slices.ContainsFunc(c.cfg.Labels, func(l string) bool { return strings.EqualFold(l, label) }) {
			v.Flagged = true
			v.Categories = append(v.Categories, label)
		}
	}
	sort.Strings(v.Categories)
	return v
}

// Threshold is the score a flagging label needs (tei mode); 0 in the other modes, whose
// verdicts carry no threshold of ours.
func (c *Classifier) Threshold() float64 {
	if c.cfg.Mode != ModeTEI {
		return 0
	}
	return c.cfg.Threshold
}

// AtThreshold re-reads a tei verdict (cached ones included: they keep their scores) at a
// stricter threshold, for a caller under suspicion; a threshold that is not lower than
// the classifier's, or a verdict of another mode, is returned as it is. v is not changed.
func (c *Classifier) AtThreshold(v Verdict, threshold float64) Verdict {
	if c.cfg.Mode != ModeTEI || threshold <= 0 || threshold >= c.cfg.Threshold {
		return v
	}
	return c.flagTEI(v, threshold)
}
