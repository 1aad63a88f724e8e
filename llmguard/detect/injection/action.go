package injection

import "github.com/llmguard/caddy-llmguard/llmguard/detect"

// DefaultAction logs injections: the finding and its score reach the audit log and the
// {http.llm.inspect.*} placeholders, and the request is forwarded. Blocking is one
// configuration line (`action PROMPT_INJECTION block`). The detector does not yet meet the
// everyday gate with blocking on (see the package README, "Detection quality": ordinary
// persona prompts and instructions from sources it was not trained on are flagged at
// several percent), and a guard that refuses everyday prompts by default gets switched off.
// Invisible text on its own is only logged too, because zero-width joiners and bidi marks
// also occur in ordinary multilingual text.
func (d *Detector) DefaultAction(detect.Finding) string {
	return detect.ActionLog
}
