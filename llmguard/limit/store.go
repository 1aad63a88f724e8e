package limit

import (
	"context"
	"errors"
	"time"
)

// Algo is how a store key keeps its state.
type Algo uint8

const (
	// Bucket is a leaky bucket: a level draining at Limit per Window.
	Bucket Algo = iota + 1
	// Counter is a plain counter that expires at Expire.
	Counter
)

// Mode is what Store.Apply does.
type Mode uint8

const (
	// ModeReserve commits only if every op with a positive amount fits its limit.
	ModeReserve Mode = iota + 1
	// ModeAdjust commits unconditionally; levels never go below zero.
	ModeAdjust
	// ModePeek computes the current levels (amounts are ignored) and commits nothing.
	ModePeek
)

// Op is one state change on one store key.
type Op struct {
	// Rule is the rule identity (Rule.ID) and Key the limit key value (e.g. an API key
	// id); Period is the budget period label, empty for other kinds. A store combines
	// them into its own key.
	Rule, Key, Period string
	Algo              Algo
	// Limit is the capacity (Bucket) or maximum (Counter); it must be > 0.
	Limit float64
	// Window is the Bucket's drain time from full to empty.
	Window time.Duration
	// Expire is when a Counter is forgotten (budget period end, concurrency lease).
	Expire time.Time
	// Amount is added (negative to refund).
	Amount float64
}

// Store keeps limiter state. Implementations are safe for concurrent use.
type Store interface {
	// Apply computes the level of every op's key at now after adding its amount and,
	// depending on mode, commits all of them or none. It returns the levels (as they
	// would be after the op, whether committed or not) and whether they were committed.
	// Errors mean the store could not be asked; nothing was committed then.
	Apply(ctx context.Context, now time.Time, ops []Op, mode Mode) (levels []float64, committed bool, err error)
}

// ErrUnavailable is returned (wrapped) by stores that cannot reach their backend.
var ErrUnavailable = errors.New("limit store unavailable")

// eps absorbs float rounding: an amount that fits exactly must not be refused because
// a drained level came out 1e-12 too high.
const eps = 1e-9

// fits reports whether a new level is admissible for an op in ModeReserve.
func fits(op *Op, level float64) bool {
	return op.Amount <= 0 || level <= op.Limit+eps
}

// drain returns a Bucket level after the time since last has drained it.
func drain(level float64, last, now time.Time, limit float64, window time.Duration) float64 {
	if el := now.Sub(last); el > 0 && level > 0 {
		level -= float64(el) * limit / float64(window)
	}
	return max(level, 0)
}

// timeToFree is how long until a Bucket at level has room for need more (level+need ≤
// limit). ok is false when need exceeds the limit: it will never fit.
func timeToFree(level, need, limit float64, window time.Duration) (time.Duration, bool) {
	if need > limit+eps {
		return 0, false
	}
	over := level + need - limit
	if over <= 0 {
		return 0, true
	}
	return time.Duration(over*float64(window)/limit) + time.Millisecond, true
}
