package limit

import (
	"context"
	"errors"
	"time"
)

// ConcurrencyLease bounds how long a concurrency slot counts when its release is lost
// (a gateway instance that dies mid-request, a store outage at settlement): the counter
// expires this long after its last change. Requests longer than this while no other
// request of the key starts or ends could be over-admitted; LLM calls are far shorter.
const ConcurrencyLease = 15 * time.Minute

// Charge is one rule applied to one request.
type Charge struct {
	Rule *Rule
	// Key is the rendered limit key (e.g. the caller's key id).
	Key string
	// Limit is the rule's limit for this request (tier and model applied); > 0.
	Limit float64
	// Amount is what is reserved.
	Amount float64
}

// Status is a charge's state after a decision, for response headers.
type Status struct {
	Rule      *Rule
	Key       string
	Limit     float64
	Remaining float64
	// Reset is when the limit is back to its full value: a bucket drained, a budget's
	// period over. Zero for concurrency.
	Reset time.Duration
}

// Denial says why a reservation was refused.
type Denial struct {
	// Status is the state of the rule that refused (the one with the longest wait).
	Status
	// Requested is the amount that did not fit.
	Requested float64
	// RetryAfter is the exact wait until the request would fit, as far as this rule is
	// concerned; zero when unknown (concurrency) or never (Never).
	RetryAfter time.Duration
	// Never: the request exceeds the limit by itself, or the rule's limit is 0.
	Never bool
}

// Budget reports a refusal by a day/month budget: waiting briefly will not help.
func (d *Denial) Budget() bool { return d.Rule.IsBudget() }

// Reservation is an admitted request's hold on its limits, to be settled once.
type Reservation struct {
	store   Store
	ops     []Op
	charges []Charge
	// Statuses are the states right after admission, in charge order.
	Statuses []Status
}

// ops builds the store ops for charges at now.
func buildOps(charges []Charge, now time.Time) []Op {
	ops := make([]Op, len(charges))
	for i, c := range charges {
		r := c.Rule
		op := Op{Rule: r.ID(), Key: c.Key, Limit: c.Limit, Amount: c.Amount}
		switch {
		case r.IsWindow():
			op.Algo, op.Window = Bucket, r.Window
		case r.IsBudget():
			_, end, label := r.PeriodBounds(now)
			op.Algo, op.Expire, op.Period = Counter, end, label
		default:
			op.Algo, op.Expire = Counter, now.Add(ConcurrencyLease)
		}
		ops[i] = op
	}
	return ops
}

func status(c *Charge, op *Op, level float64, now time.Time) Status {
	st := Status{Rule: c.Rule, Key: c.Key, Limit: c.Limit, Remaining: max(c.Limit-level, 0)}
	switch op.Algo {
	case Bucket:
		if level > 0 {
			st.Reset = time.Duration(level * float64(op.Window) / op.Limit)
		}
	case Counter:
		if c.Rule.IsBudget() {
			st.Reset = op.Expire.Sub(now)
		}
	}
	return st
}

// Reserve charges every charge at once, or none. A refusal returns a Denial and a nil
// Reservation; the statuses then describe the state without this request. A store error
// returns it (wrapping ErrUnavailable when the backend is down) and changes nothing.
func Reserve(ctx context.Context, store Store, now time.Time, charges []Charge) (*Reservation, *Denial, []Status, error) {
	for i := range charges {
		if charges[i].Limit <= 0 {
			c := &charges[i]
			st := Status{Rule: c.Rule, Key: c.Key}
			return nil, &Denial{Status: st, Requested: c.Amount, Never: true}, []Status{st}, nil
		}
	}
	ops := buildOps(charges, now)
	levels, ok, err := store.Apply(ctx, now, ops, ModeReserve)
	if err != nil {
		return nil, nil, nil, err
	}
	sts := make([]Status, len(charges))
	if ok {
		for i := range charges {
			sts[i] = status(&charges[i], &ops[i], levels[i], now)
		}
		return &Reservation{store: store, ops: ops, charges: charges, Statuses: sts}, nil, sts, nil
	}
	var worst *Denial
	for i := range charges {
		c, op := &charges[i], &ops[i]
		before := max(levels[i]-op.Amount, 0)
		sts[i] = status(c, op, before, now)
		if fits(op, levels[i]) {
			continue
		}
		d := &Denial{Status: sts[i], Requested: c.Amount}
		switch {
		case op.Algo == Bucket:
			wait, possible := timeToFree(before, op.Amount, op.Limit, op.Window)
			d.RetryAfter, d.Never = wait, !possible
		case c.Rule.IsBudget():
			d.RetryAfter = op.Expire.Sub(now)
			d.Never = c.Amount > c.Limit+eps
		default:
			d.Never = c.Amount > c.Limit+eps
		}
		if worst == nil || rank(d) > rank(worst) {
			worst = d
		}
	}
	if worst == nil { // the store refused although every op fits: a store bug
		return nil, nil, nil, errors.New("limit store refused a reservation that fits")
	}
	return nil, worst, sts, nil
}

// rank orders denials so that the reported one is the most binding: impossible first,
// then budgets, then the longest wait.
func rank(d *Denial) float64 {
	r := float64(d.RetryAfter)
	if d.Budget() {
		r += 1e18
	}
	if d.Never {
		r += 2e18
	}
	return r
}

// Charges returns the reserved charges (amounts as currently held).
func (r *Reservation) Charges() []Charge { return r.charges }

// Extend reserves extra amounts (indexed like the charges; zeros are skipped) for a
// request already under way, all or nothing. It returns a Denial when they do not fit.
func (r *Reservation) Extend(ctx context.Context, now time.Time, extra []float64) (*Denial, error) {
	var ops []Op
	var charges []Charge
	var idx []int
	for i, x := range extra {
		if x <= 0 {
			continue
		}
		op := r.ops[i]
		op.Amount = x
		ops = append(ops, op)
		c := r.charges[i]
		c.Amount = x
		charges = append(charges, c)
		idx = append(idx, i)
	}
	if len(ops) == 0 {
		return nil, nil
	}
	levels, ok, err := r.store.Apply(ctx, now, ops, ModeReserve)
	if err != nil {
		return nil, err
	}
	if !ok {
		for i := range ops {
			if !fits(&ops[i], levels[i]) {
				st := status(&charges[i], &ops[i], max(levels[i]-ops[i].Amount, 0), now)
				return &Denial{Status: st, Requested: ops[i].Amount}, nil
			}
		}
	}
	for j, i := range idx {
		r.charges[i].Amount += ops[j].Amount
	}
	return nil, nil
}

// Settle replaces the reserved amounts by the actual ones (indexed like the charges):
// the difference is refunded or charged without a limit check, since the request has
// already happened. It must be called exactly once.
func (r *Reservation) Settle(ctx context.Context, now time.Time, actual []float64) error {
	ops := make([]Op, 0, len(r.ops))
	for i, op := range r.ops {
		d := actual[i] - r.charges[i].Amount
		if d == 0 {
			continue
		}
		if r.charges[i].Rule.Kind == Concurrent {
			op.Expire = now.Add(ConcurrencyLease)
		}
		op.Amount = d
		ops = append(ops, op)
	}
	if len(ops) == 0 {
		return nil
	}
	_, _, err := r.store.Apply(ctx, now, ops, ModeAdjust)
	return err
}

// Reset empties the state of charges (amounts are ignored): an admin's "reset this key's
// counters". It peeks the levels and refunds each, plus its limit to cover requests that
// land in between; stores never let a level go below zero.
func Reset(ctx context.Context, store Store, now time.Time, charges []Charge) error {
	ops := buildOps(charges, now)
	levels, _, err := store.Apply(ctx, now, ops, ModePeek)
	if err != nil {
		return err
	}
	for i := range ops {
		ops[i].Amount = -(levels[i] + ops[i].Limit)
	}
	_, _, err = store.Apply(ctx, now, ops, ModeAdjust)
	return err
}

// Peek returns the current statuses of charges without changing anything (amounts are
// ignored).
func Peek(ctx context.Context, store Store, now time.Time, charges []Charge) ([]Status, error) {
	ops := buildOps(charges, now)
	levels, _, err := store.Apply(ctx, now, ops, ModePeek)
	if err != nil {
		return nil, err
	}
	sts := make([]Status, len(charges))
	for i := range charges {
		sts[i] = status(&charges[i], &ops[i], levels[i], now)
	}
	return sts, nil
}
