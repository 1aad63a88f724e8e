package pii

import "github.com/llmguard/caddy-llmguard/llmguard/detect"

// DefaultAction redacts personal data: the request stays useful with a typed placeholder.
func (d *Detector) DefaultAction(detect.Finding) string { return detect.ActionRedact }
