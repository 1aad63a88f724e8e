package detect

import "strings"

// Restorer maps placeholders back to originals in a streamed response, where a
// placeholder may be split across chunks ("[EMAIL_AD" + "DRESS_1]"). It forwards
// everything it can immediately and holds back only a trailing fragment that could still
// become a placeholder, which is never longer than the vault's longest placeholder minus
// one byte. Not safe for concurrent use.
type Restorer struct {
	v       *Vault
	json    bool
	pending string
}

// NewRestorer returns a streaming restorer over v. Placeholders added to v later are
// honoured too.
func (v *Vault) NewRestorer() *Restorer { return &Restorer{v: v} }

// NewJSONRestorer is NewRestorer for streamed JSON text (tool call arguments): originals
// are inserted JSON-escaped, as by RestoreJSON.
func (v *Vault) NewJSONRestorer() *Restorer { return &Restorer{v: v, json: true} }

// Write consumes the next chunk and returns the text that is safe to emit now.
func (r *Restorer) Write(chunk string) string {
	s := r.pending + chunk
	r.pending = ""
	if r.v.maxLen == 0 {
		return s
	}
	cut := r.holdFrom(s)
	r.pending = s[cut:]
	return r.v.restore(s[:cut], r.json)
}

// Flush returns whatever is held back; call it at the end of the stream.
func (r *Restorer) Flush() string {
	s := r.pending
	r.pending = ""
	return r.v.restore(s, r.json)
}

// Pending is the number of bytes currently held back.
func (r *Restorer) Pending() int { return len(r.pending) }

// holdFrom returns the index from which s must be held back: the last '[' whose tail has
// no ']' yet, consists only of placeholder bytes and is shorter than a placeholder.
func (r *Restorer) holdFrom(s string) int {
	lim := len(s) - r.v.maxLen + 1
	if lim < 0 {
		lim = 0
	}
	i := strings.LastIndexByte(s[lim:], '[')
	if i < 0 {
		return len(s)
	}
	i += lim
	for k := i + 1; k < len(s); k++ {
		if !isHolderByte(s[k]) {
			return len(s)
		}
	}
	return i
}
