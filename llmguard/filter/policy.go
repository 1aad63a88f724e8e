// Package filter scans what an LLM generates — whole JSON responses and SSE streams of the
// OpenAI (chat, completions, Responses) and Anthropic Messages APIs — with the shared
// detectors, and redacts, blocks or records what they find. Streams are filtered in
// flight: each text lane (a choice's content, a tool call's arguments, a content block)
// holds back only the tail that could still become (part of) a finding, bounded by a
// window (see Holder), so a value split across any number of chunks is still caught
// while the rest is forwarded at once. It also maps llm_inspect's
// pseudonymisation placeholders back to the original values.
//
// It has no Caddy imports and must never log or return matched values: callers get
// finding types and counts only.
package filter

import (
	"strings"
	"unicode/utf8"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// DefaultWindow is the default hold-back per text lane, in bytes. It exceeds the longest
// match of the default PII and secret patterns (PEM headers, JWTs and API keys stay far
// below it), so a value still being generated is never released half-way.
const DefaultWindow = 256

// Policy decides what happens to generated text. One Policy serves one request: the
// detector set is shared, Extra holds per-request detectors (a system-prompt canary).
type Policy struct {
	// Set holds the shared detectors; nil means none.
	Set *detect.Set
	// Extra are detectors that apply to this request only.
	Extra []detect.Detector
	// Action maps a finding to allow, log, redact or block; nil means redact everything.
	Action func(detect.Finding) string
	// Window is the hold-back per lane in bytes; 0 means DefaultWindow.
	Window int
	// Vault, when set, holds this request's pseudonyms; they are restored in the output.
	Vault *detect.Vault
	hp    *holdPlan
}

// Report is what a filter found, without the matched values.
type Report struct {
	// Counts maps a finding type to how often it was redacted, blocked or logged.
	Counts map[string]int
	// Action is the strongest action taken: "", log, redact or block.
	Action string
	// Blocked is the type of the finding that blocked the response.
	Blocked string
	// Errors counts events or bodies that could not be parsed and were passed through.
	Errors int

	edits int // strings the map walkers changed (Responses done events): none means the event goes out as it came
}

func (r *Report) add(f detect.Finding, action string) { r.Add(f.Type, action) }

// Add records a finding of type typ and the action taken on it; callers with their own
// findings (moderation) use it so that one report covers the response.
func (r *Report) Add(typ, action string) {
	if r.Counts == nil {
		r.Counts = map[string]int{}
	}
	r.Counts[typ]++
	r.Action = detect.Strongest(r.Action, action)
	if action == detect.ActionBlock && r.Blocked == "" {
		r.Blocked = typ
	}
}

func (p *Policy) window() int {
	if p.Window > 0 {
		return p.Window
	}
	return DefaultWindow
}

// detect returns the findings in text whose action is not allow, sorted by start.
// detect runs the detectors over text; in JSON text (tool call arguments) findings are
// fitted so that replacing them cannot split an escape sequence.
func (p *Policy) detect(text string, dst []detect.Finding, inJSON bool) []detect.Finding {
	dst = dst[:0]
	if p.Set != nil {
		dst = p.Set.Detect(text, dst)
	}
	for _, d := range p.Extra {
		dst = d.Detect(text, dst)
	}
	if inJSON {
		dst = detect.FitJSONTextAll(text, dst)
	}
	kept := dst[:0]
	for _, f := range dst {
		if f.Valid(text) && p.action(f) != detect.ActionAllow {
			kept = append(kept, f)
		}
	}
	detect.SortFindings(kept)
	return kept
}

func (p *Policy) action(f detect.Finding) string {
	if p.Action == nil {
		return detect.ActionRedact
	}
	return p.Action(f)
}

// Marker returns the text that replaces a redacted value of type typ. It deliberately
// differs from the vault's "[TYPE_n]" pseudonyms so that a redaction is never "restored"
// into some prompt value. The type is sanitised like a placeholder's (an operator's type
// name could hold a quote, which would break tool call arguments).
func Marker(typ string) string { return "[REDACTED:" + detect.SafeType(typ) + "]" }

// apply redacts, records and decides the findings fs of text (all of which are final).
// blocked is true when one of them must block the response.
func (p *Policy) apply(text string, fs []detect.Finding, rep *Report) (out string, blocked bool) {
	if len(fs) == 0 {
		return text, false
	}
	var b strings.Builder
	pos := 0
	for i := 0; i < len(fs); {
		f := fs[i]
		end, act := f.End, p.action(f)
		j := i + 1
		for ; j < len(fs) && fs[j].Start < end; j++ { // overlapping findings: one span
			end = max(end, fs[j].End)
			act = detect.Strongest(act, p.action(fs[j]))
		}
		i = j
		if f.Start < pos {
			continue
		}
		rep.add(f, act)
		switch act {
		case detect.ActionBlock:
			return "", true
		case detect.ActionRedact:
			b.WriteString(text[pos:f.Start])
			b.WriteString(Marker(f.Type))
			pos = end
		}
	}
	if pos == 0 {
		return text, false
	}
	b.WriteString(text[pos:])
	return b.String(), false
}

// Text filters a complete text at once: the reference the stream filter must equal.
func (p *Policy) Text(text string, rep *Report) (string, bool) { return p.text(text, false, rep) }

// JSONText is Text for JSON text such as a tool call's arguments: restored pseudonyms are
// inserted JSON-escaped, so the arguments stay valid JSON.
func (p *Policy) JSONText(text string, rep *Report) (string, bool) { return p.text(text, true, rep) }

func (p *Policy) text(text string, inJSON bool, rep *Report) (string, bool) {
	out, blocked := p.apply(text, p.detect(text, nil, inJSON), rep)
	if blocked {
		return "", true
	}
	switch {
	case p.Vault == nil:
	case inJSON:
		out = p.Vault.RestoreJSON(out)
	default:
		out = p.Vault.Restore(out)
	}
	return out, false
}

// maxHoldFactor bounds a lane's held text at this many windows, whatever it contains.
const maxHoldFactor = 4

// lane is the in-flight state of one text lane of a stream.
type lane struct {
	json bool   // the lane carries JSON text (tool call arguments)
	buf  string // text not yet released, as the upstream sent it
	rest *detect.Restorer
	fs   []detect.Finding
	tail []detect.Finding
}

// write adds a delta and returns the text that is now safe to release.
func (l *lane) write(p *Policy, s string, rep *Report) (string, bool) {
	l.buf += s
	w := p.window()
	lim := len(l.buf) - w
	hp := p.plan()
	if hp.adaptive {
		// Hold only the tail that could still become (part of) a finding, bounded by
		// the window. While the window bound decides, scan once a quarter window of new
		// text has come in, as below.
		h := hp.holdFrom(l.buf)
		if h <= lim && len(l.buf) <= w+w/4 {
			return "", false
		}
		lim = max(lim, h)
	} else if len(l.buf) <= w+w/4 {
		// Scan only once a quarter window of new text has come in: scanning the whole
		// window for every small delta would cost (window/delta) times the text.
		return "", false
	}
	cut := cutPoint(l.buf, lim, w)
	if cut == 0 {
		return "", false
	}
	l.fs = p.detect(l.buf, l.fs, l.json)
	// No finding may straddle the cut: it could still grow. Nor may its context (the
	// identifier of an assignment, the digit groups before it…), so the cut moves to
	// where the tail starting at the finding would be held. Moving the cut left can make
	// an earlier overlapping finding straddle it, hence the loop.
	for {
		for moved := true; moved; {
			moved = false
			for _, f := range l.fs {
				if f.Start < cut && f.End > cut {
					cut, moved = min(f.Start, cutPoint(l.buf, hp.holdFrom(l.buf[:f.Start]), w)), true
				}
			}
		}
		// The held tail will be scanned without the released text: it must find there
		// what it finds in context now ("Authorization: Bearer <token>" is a credential,
		// the token alone a mere high-entropy string). Otherwise hold a token more.
		if cut == 0 || l.tailAgrees(p, cut) {
			break
		}
		if nc := cutPoint(l.buf, cut, w); nc < cut {
			cut = nc
		} else {
			cut = 0
		}
	}
	final := l.fs[:0]
	if cut == 0 && len(l.buf) > maxHoldFactor*w {
		// One finding longer than the hold-back cap (a huge token): release its first
		// part redacted rather than grow without bound. Its rest is scanned anew.
		cut = cutPoint(l.buf, len(l.buf)-w, 0)
		for _, f := range l.fs {
			if f.Start < cut {
				f.End = min(f.End, cut)
				final = append(final, f)
			}
		}
	} else {
		for _, f := range l.fs {
			if f.End <= cut {
				final = append(final, f)
			}
		}
	}
	if cut == 0 {
		return "", false
	}
	out, blocked := p.apply(l.buf[:cut], final, rep)
	l.buf = l.buf[cut:]
	if blocked {
		return "", true
	}
	return l.restore(p, out), false
}

// tailAgrees reports whether scanning buf[cut:] alone finds the findings that the scan
// of the whole buf (l.fs) finds there.
func (l *lane) tailAgrees(p *Policy, cut int) bool {
	l.tail = p.detect(l.buf[cut:], l.tail, l.json)
	i := 0
	for _, f := range l.fs {
		if f.Start < cut {
			continue
		}
		if i >= len(l.tail) {
			return false
		}
		g := l.tail[i]
		if g.Start+cut != f.Start || g.End+cut != f.End || g.Type != f.Type {
			return false
		}
		i++
	}
	return i == len(l.tail)
}

// flush releases everything held, at the end of the lane.
func (l *lane) flush(p *Policy, rep *Report) (string, bool) {
	s := l.buf
	l.buf = ""
	out, blocked := p.apply(s, p.detect(s, l.fs, l.json), rep)
	if blocked {
		return "", true
	}
	out = l.restore(p, out)
	if l.rest != nil {
		out += l.rest.Flush()
	}
	return out, false
}

func (l *lane) restore(p *Policy, s string) string {
	if p.Vault == nil || p.Vault.Len() == 0 {
		return s
	}
	if l.rest == nil && l.json {
		l.rest = p.Vault.NewJSONRestorer()
	} else if l.rest == nil {
		l.rest = p.Vault.NewRestorer()
	}
	return l.rest.Write(s)
}

// held returns the number of bytes the lane holds back.
func (l *lane) held() int {
	n := len(l.buf)
	if l.rest != nil {
		n += l.rest.Pending()
	}
	return n
}

// cutPoint returns where to split buf so that at least the last w bytes stay held:
// just before the last whitespace before lim, because detectors match on word
// boundaries, so the released prefix is scanned as it would be in the whole text, and
// the held text keeps the whitespace before it (" -u user:pass" needs it). A
// lane with no whitespace at all is cut at lim once it holds twice the window, which
// bounds the hold-back.
func cutPoint(buf string, lim, w int) int {
	if lim <= 0 {
		return 0
	}
	if i := strings.LastIndexAny(buf[:lim], " \t\r\n"); i > 0 {
		return i
	}
	if len(buf) < 2*w {
		return 0
	}
	for lim > 0 && !utf8.RuneStart(buf[lim]) {
		lim--
	}
	return lim
}
