package injection

import "github.com/llmguard/caddy-llmguard/llmguard/detect"

// DefaultAction blocks injections; invisible text on its own is only logged, because
// zero-width joiners and bidi marks also occur in ordinary multilingual text.
func (d *Detector) DefaultAction(f detect.Finding) string {
	if f.Type == TypeInvisible {
		return detect.ActionLog
	}
	return detect.ActionBlock
}
