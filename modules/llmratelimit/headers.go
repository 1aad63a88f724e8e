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
	for _, x := range []struct {
		st   *limit.Status
		unit string
	}{{reqs, "requests"}, {toks, "tokens"}} {
		if x.st == nil {
			continue
		}
		h.Set("x-ratelimit-limit-"+x.unit, strconv.FormatInt(int64(x.st.Limit), 10))
		h.Set("x-ratelimit-remaining-"+x.unit, strconv.FormatInt(int64(math.Floor(x.st.Remaining)), 10))
		h.Set("x-ratelimit-reset-"+x.unit, x.st.Reset.Round(time.Millisecond).String())
	}
	if len(policy) > 0 {
		h.Set("RateLimit-Policy", strings.Join(policy, ", "))
		h.Set("RateLimit", strings.Join(state, ", "))
	}
}

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
