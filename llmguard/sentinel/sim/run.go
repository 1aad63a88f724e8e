package sim

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/sentinel"
)

// Tally is one persona's outcome.
type Tally struct {
	Persona  string
	Attack   bool
	Requests int // requests counted: an attack persona's attack requests, all others'
	// ToElevated and ToHigh are the counted requests up to and including the first at
	// that level or above (0: never), and the simulated time from the first counted one.
	ToElevated, ToHigh     int
	TimeElevated, TimeHigh time.Duration
	Episodes, Quarantines  int // low→elevated transitions; requests that began a quarantine
	Refused                int // requests refused as quarantined
	first                  time.Time
	level                  string
	quarantined            bool
}

// Report is a whole run's outcome, ordinary personas first.
type Report struct{ Tallies []*Tally }

// Run feeds events in order to t and tallies the results.
func Run(events []Event, t Target) (*Report, error) {
	by := map[string]*Tally{}
	rep := &Report{}
	for _, name := range append(append([]string{}, Ordinary...), Attacks...) {
		tl := &Tally{Persona: name, level: "low"}
		for _, a := range Attacks {
			tl.Attack = tl.Attack || a == name
		}
		by[name] = tl
		rep.Tallies = append(rep.Tallies, tl)
	}
	for _, e := range events {
		res, err := t.Do(e)
		if err != nil {
			return nil, fmt.Errorf("%s at %s: %w", e.Persona, e.At.Format(time.RFC3339), err)
		}
		tl := by[e.Persona]
		counted := !tl.Attack || e.Attack
		if counted {
			if tl.Requests == 0 {
				tl.first = e.At
			}
			tl.Requests++
			if res.Level != "low" && tl.ToElevated == 0 {
				tl.ToElevated, tl.TimeElevated = tl.Requests, e.At.Sub(tl.first)
			}
			if res.Level == "high" && tl.ToHigh == 0 {
				tl.ToHigh, tl.TimeHigh = tl.Requests, e.At.Sub(tl.first)
			}
		}
		if tl.level == "low" && res.Level != "low" {
			tl.Episodes++
		}
		if res.Quarantined {
			tl.Refused++
			if !tl.quarantined {
				tl.Quarantines++
			}
		}
		tl.level, tl.quarantined = res.Level, res.Quarantined
	}
	return rep, nil
}

// Tally returns the named persona's tally, or nil.
func (r *Report) Tally(persona string) *Tally {
	for _, t := range r.Tallies {
		if t.Persona == persona {
			return t
		}
	}
	return nil
}

// Check returns the targets the run missed: every attack persona elevated within 200
// of its requests and high before 1,000; ordinary personas never quarantined and at most
// one elevated episode per 10 identity-days.
func (r *Report) Check() []string {
	var miss []string
	for _, t := range r.Tallies {
		switch {
		case t.Attack && (t.ToElevated == 0 || t.ToElevated > 200):
			miss = append(miss, fmt.Sprintf("%s: elevated after %d requests (want ≤ 200)", t.Persona, t.ToElevated))
		case t.Attack && (t.ToHigh == 0 || t.ToHigh >= 1000):
			miss = append(miss, fmt.Sprintf("%s: high after %d requests (want < 1000)", t.Persona, t.ToHigh))
		case !t.Attack && t.Quarantines > 0:
			miss = append(miss, fmt.Sprintf("%s: quarantined %d times", t.Persona, t.Quarantines))
		case !t.Attack && t.Episodes > Days/10:
			miss = append(miss, fmt.Sprintf("%s: %d elevated episodes in %d identity-days", t.Persona, t.Episodes, Days))
		}
	}
	return miss
}

// Write prints the README's table.
func (r *Report) Write(w io.Writer) {
	fmt.Fprintln(w, "| persona | requests | to elevated | to high | quarantines | elevated episodes / 10 identity-days |")
	fmt.Fprintln(w, "|---|---|---|---|---|---|")
	for _, t := range r.Tallies {
		if t.Attack {
			fmt.Fprintf(w, "| %s (attack) | %d | %s | %s | %d | – |\n", t.Persona, t.Requests, reach(t.ToElevated, t.TimeElevated), reach(t.ToHigh, t.TimeHigh), t.Quarantines)
		} else {
			fmt.Fprintf(w, "| %s | %d | – | – | %d | %d |\n", t.Persona, t.Requests, t.Quarantines, t.Episodes*10/Days)
		}
	}
}

func reach(n int, d time.Duration) string {
	if n == 0 {
		return "never"
	}
	return fmt.Sprintf("%d req / %s", n, d.Round(time.Second))
}

// ModelTarget runs the model directly on a memory store: the same decisions the handler
// makes, without HTTP, so that many simulated days take a second.
type ModelTarget struct {
	Model *sentinel.Model
	Store sentinel.Store
	// Keys are the identities that authenticate; any other credential fails.
	Keys map[string]bool
}

// Do implements Target.
func (m *ModelTarget) Do(e Event) (Result, error) {
	ctx := context.Background()
	addrID := "addr:" + sentinel.NetworkOf(e.Addr)
	if e.Identity == "" || !m.Keys[e.Identity] {
		var a sentinel.Assessment
		err := m.Store.Update(ctx, addrID, func(s *sentinel.State) { a = m.Model.Fail(s, e.At, Fingerprint(e.Credential)) })
		return Result{Level: a.Level.String(), Quarantined: a.Quarantined}, err
	}
	addr, _, err := m.Store.Get(ctx, addrID)
	if err != nil {
		return Result{}, err
	}
	var a sentinel.Assessment
	err = m.Store.Update(ctx, "id:"+e.Identity, func(s *sentinel.State) {
		a = m.Model.Observe(s, &addr, e.At, e.Request())
		if !a.Quarantined && e.Probe {
			m.Model.Outcome(s, e.At, sentinel.Outcome{Probe: true})
		}
	})
	return Result{Level: a.Level.String(), Quarantined: a.Quarantined}, err
}

// Request is the model's view of the event, with tokens estimated at four bytes each.
func (e Event) Request() sentinel.Request {
	n := int64(max(e.N, 1))
	return sentinel.Request{Network: sentinel.NetworkOf(e.Addr), Prompt: e.Prompt, Tokens: int64(len(e.Prompt)/4) + int64(e.MaxTokens)*n,
		N: n, Logprobs: e.Logprobs, TopLogprobs: int64(e.TopLogprob)}
}

// Fingerprint is the credential fingerprint the handler uses too.
func Fingerprint(credential string) uint32 {
	return sentinel.Fingerprint(strings.TrimSpace(credential))
}
