// Package limit is the gateway's token-aware rate limiter: request, token and concurrency
// limits per window, token and money budgets per calendar day or month, reserved before a
// call and settled to the real usage after it.
//
// # Algorithm
//
// Window limits (requests or tokens per window W with limit L) are a leaky bucket, the
// continuous form of GCRA: a key holds a level (amount in use) and the instant it was
// last updated; the level drains at L/W per unit of time, and an amount a is admitted
// exactly when level+a ≤ L. That is exact — no sampling or interpolation between
// windows — and takes two numbers per key whatever the traffic. Its guarantee: over any
// interval of length d at most L + L·d/W is admitted (a full bucket, then the refill), and
// the sustained rate is exactly L per W. Retry-After is computed from the same state, so
// it is the precise time until the refused amount fits.
//
// Budgets and concurrency are counters. A budget's counter belongs to one calendar
// period (day or month in a configured time zone) and expires with it; a concurrency
// counter is incremented on admission and decremented on settlement.
//
// # Reserve, then settle
//
// A Reservation charges every rule of a request at once, all or nothing (rejected
// attempts change no state), with the prompt tokens plus the output allowance. Settle
// replaces the reserved amounts by the real ones (a refund or an extra charge; upstream
// failures refund everything). An amount charged back into a bucket that has drained in
// the meantime is exactly as if the smaller amount had been charged at admission.
//
// What the package must never do: import Caddy or net/http, read the wall clock (every
// call takes now), or admit an amount that does not fit — the only way past a limit is a
// settlement larger than its reservation, which callers bound (see the settle tolerance
// in the README's llm_rate_limit section).
package limit
