// Package eval runs the default (or a configured) detector set over JSON Lines and writes
// one verdict line per input. It is the library behind `caddy llmguard scan` and the way
// detection quality is measured on the public and sealed sets.
//
// Input lines are either {"id":…,"text":…} or a request body ({"messages":[…]},
// {"prompt":…}, {"input":…}); for bodies, message content strings and text parts are
// scanned (system messages only when Config.ScanSystem is set, because system prompts are
// the operator's own and trusted by default). The output carries offsets and the redacted
// text, never the matched values on their own. It must never log inputs.
package eval

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"time"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
	"github.com/llmguard/caddy-llmguard/llmguard/detect/defaults"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// Config configures Run.
type Config struct {
	// Policy is the detector set and action overrides; nil means the default set.
	Policy *detect.Policy
	// ScanSystem also scans system/developer messages of request bodies.
	ScanSystem bool
	// Now is the clock used for timings; nil means time.Now.
	Now func() time.Time
}

// Result is one output line.
type Result struct {
	ID       any            `json:"id"`
	Flagged  bool           `json:"flagged"`
	Action   string         `json:"action"`
	Score    float64        `json:"score"`
	Findings []FindingJSON  `json:"findings"`
	Redacted string         `json:"redacted"`
	Micros   float64        `json:"time_us"`
	Error    string         `json:"error,omitempty"`
	Segments []SegmentStats `json:"segments,omitempty"`
}

// FindingJSON is a finding as written out; Segment says which scanned text it is in
// (0 for {"text"} inputs).
type FindingJSON struct {
	Detector string  `json:"detector"`
	Type     string  `json:"type"`
	Start    int     `json:"start"`
	End      int     `json:"end"`
	Score    float64 `json:"score"`
	Rule     string  `json:"rule,omitempty"`
	Segment  int     `json:"segment,omitempty"`
}

// SegmentStats describes a scanned segment of a request body.
type SegmentStats struct {
	Role string `json:"role"`
	Len  int    `json:"len"`
}

// maxLine bounds one input line (16 MiB), matching the gateway's default body limit order
// of magnitude.
const maxLine = 16 << 20

// Run reads JSON Lines from r and writes one Result per non-empty line to w. A malformed
// line yields a Result with Error set and Flagged true (fail closed), not an abort.
func Run(r io.Reader, w io.Writer, cfg Config) error {
	if cfg.Policy == nil {
		p, err := defaults.Config{}.Policy()
		if err != nil {
			return fmt.Errorf("building detectors: %v", err)
		}
		cfg.Policy = p
	}
	now := cfg.Now
	if now == nil {
		now = time.Now
	}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	for sc.Scan() {
		line := sc.Bytes()
		if len(trimSpace(line)) == 0 {
			continue
		}
		res := scanLine(cfg, line, now)
		if err := enc.Encode(res); err != nil {
			return err
		}
	}
	return sc.Err()
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r') {
		b = b[:len(b)-1]
	}
	return b
}

// ScanText runs cfg.Policy (which must be set) over the texts of one input and builds its
// Result (without ID and timing). roles, when set, is each text's role; a {"text"} input
// has none and is read as a user message. As in the gateway, the data detectors (indirect
// injection) also read the untrusted part: a tool message whole, the document a user
// message pastes after a framing line (request.DocumentStart).
func ScanText(cfg Config, texts, roles []string) Result {
	res := Result{Action: detect.ActionAllow, Findings: []FindingJSON{}}
	v := detect.NewVault()
	var redacted []string
	var buf []detect.Finding
	for si, text := range texts {
		buf = cfg.Policy.Set.Detect(text, buf[:0])
		role := "user"
		if si < len(roles) {
			role = roles[si]
		}
		if start, ok := untrustedStart(role, text); ok {
			buf = cfg.Policy.Set.DetectData(text, start, len(text), buf)
			detect.SortFindings(buf)
		}
		var toRedact []detect.Finding
		for _, f := range buf {
			act := cfg.Policy.Action(f)
			res.Action = detect.Strongest(res.Action, act)
			if f.Score > res.Score {
				res.Score = f.Score
			}
			// Flagged means the gateway would refuse the request; redaction lets it through.
			if act == detect.ActionBlock {
				res.Flagged = true
			}
			// A whole-text injection verdict is not redacted; blocked secrets are, so the
			// output never repeats them.
			if act == detect.ActionRedact || act == detect.ActionPseudonymize || act == detect.ActionBlock && f.Detector != "injection" {
				toRedact = append(toRedact, f)
			}
			res.Findings = append(res.Findings, FindingJSON{f.Detector, f.Type, f.Start, f.End, f.Score, f.Rule, si})
		}
		out, _ := detect.Redact(text, toRedact, v)
		redacted = append(redacted, out)
	}
	if len(redacted) == 1 {
		res.Redacted = redacted[0]
	} else {
		b, _ := json.Marshal(redacted)
		res.Redacted = string(b)
	}
	return res
}

// untrustedStart is where the untrusted data of a text with this role begins, mirroring
// request.Segment.Untrusted for the shapes this package reads.
func untrustedStart(role, text string) (int, bool) {
	switch role {
	case "tool", "function":
		return 0, text != ""
	case "user":
		i := request.DocumentStart(text)
		return i, i >= 0
	}
	return 0, false
}

func scanLine(cfg Config, line []byte, now func() time.Time) Result {
	start := now()
	in, err := parseInput(line, cfg.ScanSystem)
	var res Result
	if err != nil {
		res = Result{Flagged: true, Action: detect.ActionBlock, Error: err.Error(), Findings: []FindingJSON{}}
	} else {
		res = ScanText(cfg, in.texts, in.roles)
		if len(in.roles) > 0 {
			for i, t := range in.texts {
				res.Segments = append(res.Segments, SegmentStats{Role: in.roles[i], Len: len(t)})
			}
		}
	}
	res.ID = in.id
	res.Micros = float64(now().Sub(start).Nanoseconds()) / 1e3
	return res
}
