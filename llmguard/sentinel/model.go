package sentinel

import (
	"hash/fnv"
	"math"
	"sort"
	"strings"
	"time"
)

// Level is a caller's risk level.
type Level uint8

// Levels, in increasing order of risk.
const (
	Low Level = iota
	Elevated
	High
)

func (l Level) String() string {
	switch l {
	case Elevated:
		return "elevated"
	case High:
		return "high"
	}
	return "low"
}

// ParseLevel parses low, elevated or high.
func ParseLevel(s string) (Level, bool) {
	switch s {
	case "low":
		return Low, true
	case "elevated":
		return Elevated, true
	case "high":
		return High, true
	}
	return Low, false
}

// Signal names, used as reasons (a fixed set: they are also metric label values).
const (
	SignalVolume     = "volume_spike"
	SignalTemplated  = "templated_prompts"
	SignalExtraction = "extraction_pattern"
	SignalNetwork    = "new_network"
	SignalCost       = "cost_spike"
	SignalProbing    = "injection_probing"
)

// Signals lists every signal name, for metrics.
var Signals = []string{SignalVolume, SignalTemplated, SignalExtraction, SignalNetwork, SignalCost, SignalProbing}

// Config tunes the model. The zero value is the documented default.
type Config struct {
	// Elevated and High are the score thresholds. Defaults 0.4 and 0.8.
	Elevated, High float64
	// Quarantine is how long a caller that reached high is refused. Default 10m.
	Quarantine time.Duration
	// BaseRate is the population prior for a caller's request rate (per minute): a
	// caller is only "spiking" relative to at least this. Default 30.
	BaseRate float64
	// BaseTokens is the prior for a caller's token rate (per minute). Default 60000.
	BaseTokens float64
	// Forget is the half-life of behaviour evidence in wall time, so that trust is
	// rebuilt gradually after an episode. Default 1h.
	Forget time.Duration
}

func (c Config) withDefaults() Config {
	if c.Elevated <= 0 {
		c.Elevated = 0.4
	}
	if c.High <= 0 {
		c.High = 0.8
	}
	if c.Quarantine <= 0 {
		c.Quarantine = 10 * time.Minute
	}
	if c.BaseRate <= 0 {
		c.BaseRate = 30
	}
	if c.BaseTokens <= 0 {
		c.BaseTokens = 60000
	}
	if c.Forget <= 0 {
		c.Forget = time.Hour
	}
	return c
}

// Window half-lives of the rate baselines: a spike is the last minute against the last
// day.
const (
	shortHalf = time.Minute
	longHalf  = 24 * time.Hour
)

// State is one identity's learned behaviour: fixed size (well under the 2 KiB budget),
// so a flood of requests cannot grow it.
type State struct {
	Last             int64 // unix nanoseconds of the last update; 0 for a new identity
	Seen             uint32
	ReqShort         float32 // decayed request counts (see shortHalf, longHalf)
	ReqLong          float32
	TokShort         float32 // decayed token counts
	TokLong          float32
	Dup              float32 // EWMA of "near-duplicate of a recent prompt, not identical"
	Extract          float32 // EWMA of extraction indicators
	NewNet           float32 // EWMA of "from a network not seen recently"
	Probe            float32 // EWMA of inspect findings / blocks
	Sims             [8]uint64
	Exacts           [8]uint32
	Nets             [4]uint32
	Ring, NetRing    uint8
	Level            Level
	QuarantinedUntil int64 // unix nanoseconds; 0 when not quarantined
}

// Assessment is the risk of the caller of one request.
type Assessment struct {
	Score   float64
	Level   Level
	Reasons []string
	// Quarantined is set when the request must be refused; RetryAfter says for how long.
	Quarantined bool
	RetryAfter  time.Duration
	// From is the level before this request; a change (or Released) is a security event.
	From     Level
	Released bool
}

// Transition reports whether the assessment is a security event.
func (a Assessment) Transition() bool { return a.From != a.Level || a.Released }

// ReasonList is the reasons as one comma-separated string.
func (a Assessment) ReasonList() string { return strings.Join(a.Reasons, ",") }

// Model scores requests. It holds no state of its own; State is kept by a Store.
type Model struct{ cfg Config }

// NewModel returns a model with cfg's defaults filled in.
func NewModel(cfg Config) *Model { return &Model{cfg: cfg.withDefaults()} }

// Config returns the effective configuration.
func (m *Model) Config() Config { return m.cfg }

// Observe folds request q at time now into s and returns the caller's assessment. A
// quarantined caller's requests are not learned from (they are refused), so a scraper
// cannot dilute its own evidence by hammering the refusal.
func (m *Model) Observe(s *State, now time.Time, q Request) Assessment {
	t := now.UnixNano()
	a := Assessment{From: s.Level}
	if s.QuarantinedUntil != 0 {
		if t < s.QuarantinedUntil {
			a.Score, a.Level, a.Quarantined = 1, High, true
			a.RetryAfter = time.Duration(s.QuarantinedUntil - t)
			return a
		}
		// Released: evidence is halved so the caller starts from elevated at most and
		// rebuilds trust gradually, instead of being quarantined again by its old history.
		s.QuarantinedUntil = 0
		s.Dup, s.Extract, s.NewNet, s.Probe = s.Dup/2, s.Extract/2, s.NewNet/2, s.Probe/2
		s.ReqShort, s.TokShort = 0, 0
		a.Released = true
	}
	m.decay(s, t)
	s.ReqShort++
	s.ReqLong++
	tok := float32(max(q.Tokens, 0))
	s.TokShort += tok
	s.TokLong += tok

	// Templated prompts: a near-duplicate of a recent prompt that is not identical to it.
	sim, exact := Sketch(q.Prompt)
	templ := float32(0)
	if q.Prompt != "" && s.Seen > 0 {
		for i := range s.Sims {
			if s.Exacts[i] == exact && s.Sims[i] == sim {
				templ = 0 // an identical repeat is a developer re-running, not a template
				break
			}
			if (s.Sims[i] != 0 || s.Exacts[i] != 0) && hamming(s.Sims[i], sim) <= nearDuplicate {
				templ = 1
			}
		}
	}
	if q.Prompt != "" {
		s.Sims[s.Ring%8], s.Exacts[s.Ring%8] = sim, exact
		s.Ring = (s.Ring + 1) % 8
	}
	s.Dup = ewma(s.Dup, templ, 0.1)

	// Extraction: logprobs harvesting, n farming, maxed outputs, bulk embeddings.
	ext := float32(0)
	if q.Logprobs {
		ext = 1
	}
	if q.N > 1 {
		ext = max(ext, min(1, float32(q.N-1)/3))
	}
	if q.MaxOutput >= 4096 {
		ext = max(ext, 0.5)
	}
	if q.Embeddings {
		ext = max(ext, 0.3)
	}
	s.Extract = ewma(s.Extract, ext, 0.05)

	// New network: not one of the last four prefixes this identity was seen from.
	nh := hash32(q.Network)
	known := false
	for _, n := range s.Nets {
		if n == nh {
			known = true
		}
	}
	newNet := float32(0)
	if !known {
		if s.Seen > 0 {
			newNet = 1
		}
		s.Nets[s.NetRing%4] = nh
		s.NetRing = (s.NetRing + 1) % 4
	}
	s.NewNet = ewma(s.NewNet, newNet, 0.2)
	s.Seen++
	s.Last = t

	a.Score, a.Reasons = m.score(s)
	a.Level = m.level(a.Score)
	if a.Level == High {
		s.QuarantinedUntil = t + int64(m.cfg.Quarantine)
		a.Quarantined, a.RetryAfter = true, m.cfg.Quarantine
	}
	s.Level = a.Level
	return a
}

// Outcome folds what serving the request revealed (inspect findings) into s. It does not
// change the level now: the next request's assessment sees it.
func (m *Model) Outcome(s *State, o Outcome) {
	v := float32(0)
	if o.Probe {
		v = 1
	}
	s.Probe = ewma(s.Probe, v, 0.15)
}

// decay ages the rate counters and the behaviour evidence by the time since the last update.
func (m *Model) decay(s *State, t int64) {
	if s.Last == 0 || t <= s.Last {
		return
	}
	dt := float64(t - s.Last)
	fs := float32(math.Exp2(-dt / float64(shortHalf)))
	fl := float32(math.Exp2(-dt / float64(longHalf)))
	fb := float32(math.Exp2(-dt / float64(m.cfg.Forget)))
	s.ReqShort *= fs
	s.TokShort *= fs
	s.ReqLong *= fl
	s.TokLong *= fl
	s.Dup *= fb
	s.Extract *= fb
	s.NewNet *= fb
	s.Probe *= fb
}

// weights of the signals: how much a signal at full strength alone moves the score.
// Alone, a behaviour signal reaches elevated; two together reach high.
var weights = [...]float64{0.5, 0.6, 0.65, 0.5, 0.5, 0.7}

func (m *Model) score(s *State) (float64, []string) {
	sig := m.signals(s)
	keep := 1.0
	type contrib struct {
		name string
		v    float64
	}
	var cs [len(weights)]contrib
	for i, v := range sig {
		c := weights[i] * v
		keep *= 1 - c
		cs[i] = contrib{Signals[i], c}
	}
	sort.SliceStable(cs[:], func(i, j int) bool { return cs[i].v > cs[j].v })
	var reasons []string
	for _, c := range cs[:3] {
		if c.v >= 0.1 {
			reasons = append(reasons, c.name)
		}
	}
	return 1 - keep, reasons
}

// signals returns each signal in [0, 1], in the order of Signals.
func (m *Model) signals(s *State) [len(weights)]float64 {
	const ln2 = math.Ln2
	perMin := func(short, long float32) (float64, float64) {
		rs := float64(short) * ln2 / shortHalf.Minutes()
		rl := float64(long) * ln2 / longHalf.Minutes()
		return rs, rl
	}
	rs, rl := perMin(s.ReqShort, s.ReqLong)
	ts, tl := perMin(s.TokShort, s.TokLong)
	// A spike is the last minute's rate against the caller's daily rate (or the prior,
	// whichever is larger): 4× is ordinary burstiness, 12× is a spike.
	spike := func(short, long, prior float64) float64 { return ramp(short/max(long, prior), 4, 12) }
	return [len(weights)]float64{
		spike(rs, rl, m.cfg.BaseRate),
		ramp(float64(s.Dup), 0.25, 0.6),
		ramp(float64(s.Extract), 0.1, 0.45),
		ramp(float64(s.NewNet), 0.25, 0.6),
		spike(ts, tl, m.cfg.BaseTokens),
		ramp(float64(s.Probe), 0.2, 0.5),
	}
}

func (m *Model) level(score float64) Level {
	switch {
	case score >= m.cfg.High:
		return High
	case score >= m.cfg.Elevated:
		return Elevated
	}
	return Low
}

// ramp maps x linearly from [lo, hi] to [0, 1], clamped.
func ramp(x, lo, hi float64) float64 {
	if math.IsNaN(x) || x <= lo {
		return 0
	}
	if x >= hi {
		return 1
	}
	return (x - lo) / (hi - lo)
}

func ewma(cur, v, alpha float32) float32 { return cur + alpha*(v-cur) }

func hash32(s string) uint32 {
	h := fnv.New32a()
	h.Write([]byte(s))
	return h.Sum32()
}
