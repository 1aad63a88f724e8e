package sentinel

import (
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

// Signal names, used as reasons. They are a fixed set because they are also metric
// label values.
const (
	SignalVolume     = "volume_spike"
	SignalTemplated  = "templated_prompts"
	SignalExtraction = "extraction_pattern"
	SignalNetwork    = "new_network"
	SignalHour       = "unusual_hour"
	SignalCost       = "cost_spike"
	SignalProbing    = "injection_probing"
	SignalStuffing   = "credential_stuffing"
)

// Signals lists every signal name in the order of the model's signal vector.
var Signals = [numSignals]string{SignalVolume, SignalTemplated, SignalExtraction, SignalNetwork, SignalHour, SignalCost, SignalProbing, SignalStuffing}

const numSignals = 8

// weights say how far one signal at full strength moves the score on its own. The
// thresholds are set so that one behaviour signal reaches elevated and two together reach
// high; a new network or an unusual hour needs a second signal even for elevated; only a
// spend spike of 20× and more, sustained injection probing, or (for an address)
// credential stuffing reach high alone.
var weights = [numSignals]float64{
	0.5,  // volume: bursts are ordinary; a burst alone only tightens
	0.65, // templated prompts
	0.65, // extraction: top_logprobs harvesting, n farming
	0.38, // a network the identity is not familiar with: a phone, a trip; weak alone
	0.38, // an hour of day the identity is never active in: weak alone
	0.85, // spend: money is lost while a person would still be looking
	0.85, // injection probing, when most of a caller's prompts are flagged
	0.5,  // failed logins from the caller's address, spread over many keys
}

// addressStuffingWeight is the stuffing signal's weight for the address itself (an actor
// with no identity): an address trying dozens of distinct keys reaches high on that alone.
const addressStuffingWeight = 0.9

// Config tunes the model. The zero value is the documented default.
type Config struct {
	// Elevated and High are the score thresholds. Defaults 0.4 and 0.8.
	Elevated, High float64
	// Quarantine is how long a caller that reached high is refused the first time;
	// each further quarantine within a day doubles it, up to 16×. Default 10m. Negative
	// disables quarantine (the level is still published).
	Quarantine time.Duration
	// BaseRate is the population prior for requests per minute: a new identity is only
	// "spiking" against at least this. Default 10.
	BaseRate float64
	// BaseTokens is the prior for tokens per minute (prompt plus output allowance).
	// Default 20000.
	BaseTokens float64
	// Forget is the half-life of behaviour evidence in wall time: after an episode, trust
	// is rebuilt gradually at this pace. Default 1h.
	Forget time.Duration
}

func (c Config) withDefaults() Config {
	if c.Elevated <= 0 {
		c.Elevated = 0.4
	}
	if c.High <= 0 {
		c.High = 0.8
	}
	if c.Quarantine == 0 {
		c.Quarantine = 10 * time.Minute
	}
	if c.BaseRate <= 0 {
		c.BaseRate = 10
	}
	if c.BaseTokens <= 0 {
		c.BaseTokens = 20000
	}
	if c.Forget <= 0 {
		c.Forget = time.Hour
	}
	return c
}

// Half-lives of the rate estimates: a spike is the last minute or two against the
// caller's learned peak, which fades over a week.
const (
	shortHalf = time.Minute
	peakHalf  = 7 * 24 * time.Hour
	failHalf  = 10 * time.Minute
	// peakLearn is how much of the gap to a higher rate one request closes.
	peakLearn = 0.005
	// hysteresis keeps a level until the score falls this far below its threshold, so a
	// caller near a threshold is one episode, not one event per request.
	hysteresis = 0.1
	// maxStrikes caps quarantine doubling (2⁴ = 16×).
	maxStrikes = 4
	// strikeMemory is how long a quarantine counts towards the next one's length.
	strikeMemory = 24 * time.Hour
)

// State is one actor's learned behaviour (an identity, or a client address for
// authentication failures). It is fixed-size (EncodedSize, under 300 bytes), so no request can grow it,
// and it contains only numbers and hashes: never prompt text or addresses in clear.
type State struct {
	Last     int64 // unix nanoseconds of the last update; 0 for a new actor
	Seen     uint32
	ReqShort float32 // decayed request count (shortHalf)
	TokShort float32 // decayed token count (shortHalf)
	PeakReq  float32 // learned peak request rate per minute (fades with peakHalf)
	PeakTok  float32 // learned peak token rate per minute
	// Behaviour evidence: EWMAs in [0, 1], faded with Config.Forget.
	Dup, Extract, NewNet, Hour, Probe float32
	// Fail is the decayed count of failed authentications with distinct credentials
	// (failHalf), for an address actor.
	Fail float32
	// Hours counts, per hour of day (UTC), the distinct clock hours the actor was active
	// in; HourLast is the last such clock hour (unix hours), and bit i of HourMask is
	// set when the clock hour i hours before HourLast was counted.
	Hours    [24]uint16
	HourLast uint32
	HourMask uint8
	// Sims and Exacts are the sketches of the last prompts (see Sketch).
	Sims   [8]uint64
	Exacts [8]uint32
	// Nets are hashes of the networks the actor was seen from, NetHours the distinct clock
	// hours it was seen from each, NetLast the last such hour.
	Nets     [4]uint32
	NetHours [4]uint16
	NetLast  [4]uint32
	// Creds are fingerprints of the last credentials that failed from an address.
	Creds          [4]uint32
	Ring, CredRing uint8
	Level          Level
	Strikes        uint8
	// Why is a bit set of the signals behind the current level (bit i: Signals[i]), so
	// that a refused request can still say why.
	Why              uint8
	QuarantinedUntil int64 // unix nanoseconds; 0 when not quarantined
	QuarantinedLast  int64 // when the last quarantine began
}

// Request is what the gateway already knows about one request; nothing here needs a
// second parse of the body.
type Request struct {
	// Network is the caller's network (see NetworkOf).
	Network string
	// Prompt is the caller's latest prompt text (only its sketch is kept).
	Prompt string
	// Tokens is the request's cost estimate: prompt tokens plus output allowance × n.
	Tokens int64
	// N is the number of completions asked for.
	N int64
	// Logprobs and TopLogprobs are the log-probability options asked for.
	Logprobs    bool
	TopLogprobs int64
	// Embeddings counts the inputs of an embeddings request (0 for other kinds).
	Embeddings int
}

// Outcome is what the gateway learned while serving the request.
type Outcome struct {
	// Probe is set when llm_inspect found a prompt injection or blocked the request:
	// evidence of jailbreak probing.
	Probe bool
}

// Assessment is the risk of the caller of one request.
type Assessment struct {
	Score   float64
	Level   Level
	Reasons []string
	// Quarantined is set when the request must be refused; RetryAfter says for how long.
	Quarantined bool
	RetryAfter  time.Duration
	// From is the level before this request. Entered is set when this request began a
	// quarantine, Released when it ended one.
	From              Level
	Entered, Released bool
}

// Transition reports whether the assessment is a security event.
func (a Assessment) Transition() bool { return a.From != a.Level || a.Released || a.Entered }

// ReasonList is the reasons as one comma-separated string.
func (a Assessment) ReasonList() string { return strings.Join(a.Reasons, ",") }

// Model scores requests. It holds no state of its own; State is kept by a Store.
type Model struct{ cfg Config }

// NewModel returns a model with cfg's defaults filled in.
func NewModel(cfg Config) *Model { return &Model{cfg: cfg.withDefaults()} }

// Config returns the effective configuration.
func (m *Model) Config() Config { return m.cfg }

// Observe folds request q at time now into identity state s and returns the caller's
// assessment. addr, when not nil, is the state of the request's client address, whose
// failed logins count as evidence against the identity (a stolen key used from an
// address that was stuffing credentials); it is read, not changed. A quarantined caller's
// requests are not learned from: they are refused, and a scraper must not dilute its own
// evidence by hammering the refusal.
func (m *Model) Observe(s *State, addr *State, now time.Time, q Request) Assessment {
	t := now.UnixNano()
	a := Assessment{From: s.Level}
	if m.held(s, t, &a) {
		return a
	}
	m.decay(s, t)
	s.ReqShort++
	s.TokShort += float32(max(q.Tokens, 0))

	s.Dup = ewma(s.Dup, m.templated(s, q.Prompt), 0.02)
	s.Extract = ewma(s.Extract, extraction(q), 0.05)
	hour := uint32(t / int64(time.Hour))
	s.NewNet = ewma(s.NewNet, m.network(s, hash32(q.Network), hour), 0.2)
	s.Hour = ewma(s.Hour, m.hourOfDay(s, hour), 0.1)
	s.Probe = ewma(s.Probe, 0, probeAlpha) // Outcome adds this request's finding, if any
	// An hour of day the actor was active in on an earlier day is familiar: its bursts
	// are its rhythm (the nightly batch), so they count half and are learned from.
	familiar := s.Hours[hour%24] >= 2
	s.Seen++
	s.Last = t

	var stuffing float64
	if addr != nil {
		stuffing = stuffingSignal(addr, t)
	}
	sig := m.signals(s, stuffing, familiar)
	if familiar && s.Level == Low {
		m.learnPeaks(s)
	}
	return m.finish(s, t, a, sig, weights)
}

// probeAlpha is the weight of one request in the share of flagged prompts.
const probeAlpha = 0.15

// Outcome folds what serving the request revealed (an injection found) into s, after
// Observe: together they are an EWMA of the share of flagged requests, and a handler only
// writes the store again for a request that was flagged. The level does not change now:
// the caller's next request is scored with it.
func (m *Model) Outcome(s *State, now time.Time, o Outcome) {
	if o.Probe {
		s.Probe = min(1, s.Probe+probeAlpha)
		s.Last = max(s.Last, now.UnixNano())
	}
}

// Fail folds a failed authentication from a client address into that address's state
// and returns the address's assessment. credential is a fingerprint of the credential
// presented: retries of one wrong key (a misconfigured client) count once; stuffing
// tries a new key every time.
func (m *Model) Fail(s *State, now time.Time, credential uint32) Assessment {
	t := now.UnixNano()
	a := Assessment{From: s.Level}
	if m.held(s, t, &a) {
		return a
	}
	m.decay(s, t)
	known := false
	for _, c := range s.Creds {
		known = known || c == credential
	}
	if !known {
		s.Creds[s.CredRing%4] = credential
		s.CredRing = (s.CredRing + 1) % 4
		s.Fail++
	}
	s.Seen++
	s.Last = t
	var sig [numSignals]float64
	sig[7] = stuffingSignal(s, t)
	w := [numSignals]float64{}
	w[7] = addressStuffingWeight
	return m.finish(s, t, a, sig, w)
}

// Release lifts s's quarantine at an administrator's word and clears the behaviour
// evidence behind it, keeping what was learned of the actor's rhythm (hours, networks,
// peaks). It returns the assessment to report.
func (m *Model) Release(s *State) Assessment {
	a := Assessment{From: s.Level, Level: Low, Released: s.QuarantinedUntil != 0}
	s.QuarantinedUntil, s.Strikes, s.Level, s.Why = 0, 0, Low, 0
	s.Dup, s.Extract, s.NewNet, s.Hour, s.Probe, s.Fail = 0, 0, 0, 0, 0, 0
	s.ReqShort, s.TokShort = 0, 0
	return a
}

// Assess returns s's current assessment at now without learning from a request (an
// address actor seen again, an admin looking). It ages nothing.
func (m *Model) Assess(s *State, now time.Time) Assessment {
	a := Assessment{From: s.Level, Level: s.Level}
	t := now.UnixNano()
	if s.QuarantinedUntil != 0 && t < s.QuarantinedUntil {
		a.Score, a.Level, a.Quarantined = 1, High, true
		a.RetryAfter = time.Duration(s.QuarantinedUntil - t)
	}
	a.Reasons = s.why()
	return a
}

// held answers for a quarantined actor: refused until the quarantine ends. At its end the
// behaviour evidence is halved and the rates forgotten, so the caller starts again at most
// elevated and rebuilds trust gradually instead of being quarantined again by the history
// that earned the first one.
func (m *Model) held(s *State, t int64, a *Assessment) bool {
	if s.QuarantinedUntil == 0 {
		return false
	}
	if t < s.QuarantinedUntil {
		a.Score, a.Level, a.Quarantined, a.Reasons = 1, High, true, s.why()
		a.RetryAfter = time.Duration(s.QuarantinedUntil - t)
		return true
	}
	s.QuarantinedUntil = 0
	s.Dup, s.Extract, s.NewNet, s.Hour, s.Probe, s.Fail = s.Dup/2, s.Extract/2, s.NewNet/2, s.Hour/2, s.Probe/2, s.Fail/2
	s.ReqShort, s.TokShort = 0, 0
	s.Level = Elevated
	a.From, a.Released = High, true
	return false
}

func (m *Model) finish(s *State, t int64, a Assessment, sig, w [numSignals]float64) Assessment {
	a.Score, a.Reasons = combine(sig, w)
	a.Level = m.level(a.Score, s.Level)
	s.Why = 0
	for i, r := range Signals {
		for _, x := range a.Reasons {
			if x == r {
				s.Why |= 1 << i
			}
		}
	}
	if a.Level == High && m.cfg.Quarantine > 0 {
		if t-s.QuarantinedLast > int64(strikeMemory) {
			s.Strikes = 0
		}
		d := m.cfg.Quarantine << min(s.Strikes, maxStrikes)
		s.Strikes = min(s.Strikes+1, maxStrikes)
		s.QuarantinedUntil, s.QuarantinedLast = t+int64(d), t
		a.Quarantined, a.Entered, a.RetryAfter = true, true, d
	}
	s.Level = a.Level
	return a
}

func (s *State) why() []string {
	var r []string
	for i, name := range Signals {
		if s.Why&(1<<i) != 0 {
			r = append(r, name)
		}
	}
	return r
}

// templated is 1 when prompt is a near-duplicate of a recent prompt without being
// identical to it: the same template with another slot value. An identical repeat is a
// developer re-running a test, not a template.
func (m *Model) templated(s *State, prompt string) float32 {
	if prompt == "" {
		return 0
	}
	sim, exact := Sketch(prompt)
	v := float32(0)
	for i := range s.Sims {
		if s.Sims[i] == 0 && s.Exacts[i] == 0 {
			continue
		}
		if s.Exacts[i] == exact && s.Sims[i] == sim {
			v = 0
			break
		}
		if hamming(s.Sims[i], sim) <= nearDuplicate {
			v = 1
		}
	}
	s.Sims[s.Ring%8], s.Exacts[s.Ring%8] = sim, exact
	s.Ring = (s.Ring + 1) % 8
	return v
}

// extraction scores a request's harvesting options: many log-probability alternatives,
// several completions per prompt, large embedding batches (weak: indexing jobs do that).
func extraction(q Request) float32 {
	v := float32(0)
	switch {
	case q.TopLogprobs >= 5:
		v = 1
	case q.Logprobs || q.TopLogprobs > 0:
		// A classifier reading its label's probability asks for logprobs on every call.
		v = 0.25
	}
	if q.N > 1 {
		v = max(v, min(1, float32(q.N-1)/3))
	}
	if q.Embeddings >= 32 {
		v = max(v, 0.3)
	}
	return v
}

// familiarHours is how many distinct clock hours a network must have been seen in before
// it is familiar: trust is earned over time, not by request count, or an attacker's own
// burst would make its network familiar within a minute.
const familiarHours = 3

// network is 1 when the request comes from a network that is not familiar to an actor
// that has one familiar network already (a new actor has no history to differ from).
func (m *Model) network(s *State, nh, hour uint32) float32 {
	slot, familiar := -1, false
	for i, n := range s.Nets {
		if s.NetHours[i] >= familiarHours {
			familiar = true
		}
		if n == nh && s.NetHours[i] > 0 {
			slot = i
		}
	}
	if slot < 0 {
		// Replace the least established network.
		slot = 0
		for i := range s.Nets {
			if s.NetHours[i] < s.NetHours[slot] {
				slot = i
			}
		}
		s.Nets[slot], s.NetHours[slot], s.NetLast[slot] = nh, 0, 0
	}
	if s.NetLast[slot] != hour {
		s.NetLast[slot] = hour
		s.NetHours[slot] = min(s.NetHours[slot]+1, math.MaxUint16)
	}
	if familiar && s.NetHours[slot] < familiarHours {
		return 1
	}
	return 0
}

// minHourHistory is how many distinct active clock hours an actor needs before an hour
// of day can be unusual for it.
const minHourHistory = 20

// hourOfDay is 1 when the actor, with enough history, was never active in this hour of
// day nor the ones beside it on an earlier day (today's own activity does not make the
// hour usual: an attack at 03:00 stays unusual for its whole hour).
func (m *Model) hourOfDay(s *State, hour uint32) float32 {
	if d := hour - s.HourLast; s.HourLast == 0 || d > 0 {
		if d >= 8 || s.HourLast == 0 {
			s.HourMask = 0
		} else {
			s.HourMask <<= d
		}
		s.HourMask |= 1
		s.HourLast = hour
		h := hour % 24
		if s.Hours[h] == math.MaxUint16 {
			for i := range s.Hours {
				s.Hours[i] /= 2
			}
		}
		s.Hours[h]++
	}
	h := hour % 24
	var total int
	for _, c := range s.Hours {
		total += int(c)
	}
	// Counts of this clock hour and the one before are today's, not history.
	window := int(s.Hours[h]) + int(s.Hours[(h+1)%24]) + int(s.Hours[(h+23)%24])
	earlier := window - int(s.HourMask&1) - int(s.HourMask>>1&1)
	if total-window >= minHourHistory && earlier <= 0 {
		return 1
	}
	return 0
}

// learnPeaks moves the learned peak rates towards the current rates when those are
// higher, but only from rates below where the spike signals begin, and only for a
// low-risk caller at a familiar hour: a caller's rhythm raises its bar gradually, a
// sudden burst (an attacker's, or a nightly batch's first night) never does. Peaks fade
// slowly in decay.
func (m *Model) learnPeaks(s *State) {
	rs, ts := rate(s.ReqShort), rate(s.TokShort)
	if rs > s.PeakReq && float64(rs) < volumeFrom*max(float64(s.PeakReq), m.cfg.BaseRate) {
		s.PeakReq += peakLearn * (rs - s.PeakReq)
	}
	if ts > s.PeakTok && float64(ts) < costFrom*max(float64(s.PeakTok), m.cfg.BaseTokens) {
		s.PeakTok += peakLearn * (ts - s.PeakTok)
	}
}

// Where the spike signals begin and reach full strength, as multiples of the peak.
const (
	volumeFrom, volumeFull = 4, 12
	costFrom, costFull     = 6, 20
)

// rate converts a count decayed with shortHalf to a rate per minute.
func rate(count float32) float32 { return count * math.Ln2 / float32(shortHalf.Minutes()) }

// decay ages the rate counters and the behaviour evidence by the time since the last update.
func (m *Model) decay(s *State, t int64) {
	if s.Last == 0 || t <= s.Last {
		return
	}
	dt := float64(t - s.Last)
	f := func(half time.Duration) float32 { return float32(math.Exp2(-dt / float64(half))) }
	fs, fp, fb := f(shortHalf), f(peakHalf), f(m.cfg.Forget)
	s.ReqShort *= fs
	s.TokShort *= fs
	s.PeakReq *= fp
	s.PeakTok *= fp
	s.Dup *= fb
	s.Extract *= fb
	s.NewNet *= fb
	s.Hour *= fb
	s.Probe *= fb
	s.Fail *= f(failHalf)
}

// stuffingSignal is an address's failed logins with distinct credentials, aged to t.
func stuffingSignal(s *State, t int64) float64 {
	fail := float64(s.Fail)
	if s.Last != 0 && t > s.Last {
		fail *= math.Exp2(-float64(t-s.Last) / float64(failHalf))
	}
	return ramp(fail, 10, 60)
}

// signals returns each signal in [0, 1], in the order of Signals.
func (m *Model) signals(s *State, stuffing float64, familiar bool) [numSignals]float64 {
	// A spike is the last minute's rate against the caller's learned peak or the
	// population prior, whichever is larger: 4× is ordinary burstiness, 12× a spike, and
	// half of that at a familiar hour. Spend counts from 6× and reaches high alone at 20×
	// at any hour: money is lost as fast at a usual hour.
	req := float64(rate(s.ReqShort)) / max(float64(s.PeakReq), m.cfg.BaseRate)
	tok := float64(rate(s.TokShort)) / max(float64(s.PeakTok), m.cfg.BaseTokens)
	volume := ramp(req, volumeFrom, volumeFull)
	if familiar {
		volume /= 2
	}
	return [numSignals]float64{
		volume,
		ramp(float64(s.Dup), 0.25, 0.6),
		ramp(float64(s.Extract), 0.1, 0.45),
		ramp(float64(s.NewNet), 0.25, 0.6),
		ramp(float64(s.Hour), 0.25, 0.6),
		ramp(tok, costFrom, costFull),
		ramp(float64(s.Probe), 0.3, 0.7),
		stuffing,
	}
}

// combine treats the signals as independent evidence, score = 1 − Π(1 − wᵢ·sᵢ), and
// names the up to three largest contributions of at least 0.1 as reasons.
func combine(sig, w [numSignals]float64) (float64, []string) {
	keep := 1.0
	var c [numSignals]float64
	idx := [numSignals]int{0, 1, 2, 3, 4, 5, 6, 7}
	for i, v := range sig {
		c[i] = w[i] * v
		keep *= 1 - c[i]
	}
	sort.SliceStable(idx[:], func(i, j int) bool { return c[idx[i]] > c[idx[j]] })
	var reasons []string
	for _, i := range idx[:3] {
		if c[i] >= 0.1 {
			reasons = append(reasons, Signals[i])
		}
	}
	return 1 - keep, reasons
}

// level maps a score to a level, keeping the current level until the score falls
// hysteresis below its threshold.
func (m *Model) level(score float64, cur Level) Level {
	switch {
	case score >= m.cfg.High:
		return High
	case score >= m.cfg.Elevated:
		return Elevated
	case cur >= Elevated && score >= m.cfg.Elevated-hysteresis:
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

// Explain returns each signal's current strength in [0, 1] for s, by name (the admin
// API's view of an actor; the address's stuffing signal is not included).
func (m *Model) Explain(s *State, now time.Time) map[string]float64 {
	t := now.UnixNano()
	c := *s
	m.decay(&c, t)
	sig := m.signals(&c, stuffingSignal(&c, t), c.Hours[uint32(t/int64(time.Hour))%24] >= 2)
	out := make(map[string]float64, numSignals)
	for i, v := range sig {
		out[Signals[i]] = math.Round(v*1000) / 1000
	}
	return out
}
