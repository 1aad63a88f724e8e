package llmratelimit

import (
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/limit"
)

// setHeaders writes the rate-limit headers for the statuses of a decision, replacing any
// an upstream sent (those describe the gateway's upstream account, not this caller).
//
// OpenAI's x-ratelimit-{limit,remaining,reset}-{requests,tokens} come from the requests
// and tokens window rules with the least remaining (resets in Go duration syntax, as
// OpenAI sends them: "1s", "6m0s"). RateLimit-Policy and RateLimit
// (draft-ietf-httpapi-ratelimit-headers, structured-field lists) list every rule:
// `"name";q=<quota>;w=<seconds>;qu="<unit>"` and `"name";r=<remaining>;t=<seconds>`, with
// units "requests", "tokens", "concurrent-requests" and, for money budgets, "usd-cents".
func setHeaders(h http.Header, sts []limit.Status) {
	var reqs, toks *limit.Status
	var policy, state []string
	for i := range sts {
		st := &sts[i]
		switch st.Rule.Kind {
		case limit.Requests:
			if reqs == nil || st.Remaining < reqs.Remaining {
				reqs = st
			}
		case limit.Tokens:
			if toks == nil || st.Remaining < toks.Remaining {
				toks = st
			}
		}
		policy = append(policy, policyItem(st))
		state = append(state, stateItem(st))
	}
	for i, st := range [2]*limit.Status{reqs, toks} {
		if st == nil {
			continue
		}
		names := &openAIHeaders[i]
		h[names[0]] = []string{strconv.FormatInt(int64(st.Limit), 10)}
		h[names[1]] = []string{strconv.FormatInt(int64(math.Floor(st.Remaining)), 10)}
		h[names[2]] = []string{st.Reset.Round(time.Millisecond).String()}
	}
	if len(policy) > 0 {
		h[policyHeader] = []string{strings.Join(policy, ", ")}
		h[stateHeader] = []string{strings.Join(state, ", ")}
	}
}

// The header names in canonical form, so that setting them on every limited request
// does not canonicalise (and allocate) each name again, as Header.Set would.
var (
	openAIHeaders = [2][3]string{
		{"X-Ratelimit-Limit-Requests", "X-Ratelimit-Remaining-Requests", "X-Ratelimit-Reset-Requests"},
		{"X-Ratelimit-Limit-Tokens", "X-Ratelimit-Remaining-Tokens", "X-Ratelimit-Reset-Tokens"},
	}
	policyHeader = "Ratelimit-Policy"
	stateHeader  = "Ratelimit"
)

// quota returns a status's numbers in the unit the IETF fields use: whole units, cents
// for money.
func quota(st *limit.Status, v float64) int64 {
	if st.Rule.Kind == limit.CostBudget {
		v *= 100
	}
	return int64(math.Floor(v + 1e-9))
}

func policyItem(st *limit.Status) string {
	r := st.Rule
	var b strings.Builder
	b.WriteString(`"` + r.Name + `";q=` + strconv.FormatInt(quota(st, st.Limit), 10))
	var w time.Duration
	unit := "tokens"
	switch r.Kind {
	case limit.Requests:
		w, unit = r.Window, "requests"
	case limit.Tokens:
		w = r.Window
	case limit.Concurrent:
		unit = "concurrent-requests"
	case limit.TokenBudget, limit.CostBudget:
		if r.Period == limit.Day {
			w = 24 * time.Hour
		} else {
			w = 30 * 24 * time.Hour // nominal: the reset time in RateLimit is exact
		}
		if r.Kind == limit.CostBudget {
			unit = "usd-cents"
		}
	}
	if w > 0 {
		b.WriteString(";w=" + strconv.FormatInt(int64(math.Ceil(w.Seconds())), 10))
	}
	b.WriteString(`;qu="` + unit + `"`)
	return b.String()
}

func stateItem(st *limit.Status) string {
	s := `"` + st.Rule.Name + `";r=` + strconv.FormatInt(quota(st, st.Remaining), 10)
	if st.Rule.Kind != limit.Concurrent {
		s += ";t=" + strconv.FormatInt(int64(math.Ceil(st.Reset.Seconds())), 10)
	}
	return s
}
