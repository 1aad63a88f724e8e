package secrets

import (
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// scanStructured covers provider credentials with a fixed layout around an inner literal
// (gitleaks rules of the same names): Telegram bot tokens (digits:A…), Terraform Cloud
// tokens (….atlasv1.…), Microsoft Teams webhooks, Ansible Vault payloads and Claude Code
// session URLs.
func scanStructured(text string, dst []detect.Finding) []detect.Finding {
	dst = scanColons(text, dst)
	// Terraform Cloud: <14 alnum>.atlasv1.<60..70 of [A-Za-z0-9_=-]>
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], ".atlasv1.")
		if j < 0 {
			break
		}
		d := i + j
		i = d + 9
		s := d - 14
		if s < 0 || s > 0 && isWordByte(text[s-1]) {
			continue
		}
		ok := true
		for k := s; k < d; k++ {
			ok = ok && isAlnum(text[k])
		}
		e := d + 9
		for e < len(text) && e-d-9 <= 70 && (isWordByte(text[e]) || text[e] == '=') {
			e++
		}
		n := e - d - 9
		if !ok || n < 60 || n > 70 || entropy(text[d+9:e]) < 3.5 || isPlaceholder(text[s:e]) {
			continue
		}
		dst = append(dst, finding(ProviderToken, s, e, 0.95, "terraform_cloud_token"))
		i = e
	}
	// Microsoft Teams incoming webhook URL
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], ".webhook.office.com/webhookb2/")
		if j < 0 {
			break
		}
		d := i + j
		i = d + 30
		s := d
		for s > 0 && d-s < 64 && (isAlnum(text[s-1]) || text[s-1] == '/' || text[s-1] == ':') {
			s--
		}
		e := d + 30
		for e < len(text) && e-d < 300 && (isWordByte(text[e]) || text[e] == '@' || text[e] == '/') {
			e++
		}
		if !strings.Contains(text[d:e], "/IncomingWebhook/") {
			continue
		}
		dst = append(dst, finding(ProviderToken, s, e, 0.95, "teams_webhook"))
		i = e
	}
	// Ansible Vault: $ANSIBLE_VAULT;1.1;AES256 followed by hex lines.
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "ANSIBLE_VAULT;")
		if j < 0 {
			break
		}
		s := i + j
		i = s + 14
		nl := strings.IndexByte(text[s:min(len(text), s+64)], '\n')
		if nl < 0 || !strings.Contains(text[s:s+nl], ";AES256") {
			continue
		}
		// The finding is the header and the first payload line only: a span that grew
		// with every later line would depend on text a streamed response has not sent
		// yet, and the first line is what proves the payload is a vault. The rest is
		// ciphertext.
		e := s + nl + 1
		for e < len(text) && e-s < 1<<12 && isHex(text[e]) {
			e++
		}
		if e-s-nl-1 < 32 {
			continue
		}
		dst = append(dst, finding(GenericSecret, s, e, 0.9, "ansible_vault"))
		i = e
	}
	// Claude Code session URL: https://claude.ai/code/session_<16+ alnum>
	for i := 0; i < len(text); {
		j := strings.Index(text[i:], "/code/session_")
		if j < 0 {
			break
		}
		d := i + j
		i = d + 14
		if d < 9 || !strings.EqualFold(text[d-9:d], "claude.ai") {
			continue
		}
		e := d + 14
		for e < len(text) && isAlnum(text[e]) {
			e++
		}
		if e-d-14 < 16 || e < len(text) && isWordByte(text[e]) {
			continue
		}
		s := d - 9
		for s > 0 && d-s < 20 && text[s-1] != ' ' && text[s-1] != '"' && text[s-1] != '\'' && text[s-1] != '\n' {
			s--
		}
		dst = append(dst, finding(ProviderToken, s, e, 0.9, "claude_session_url"))
		i = e
	}
	return dst
}

// scanColons makes one pass over the colons for the rules anchored on one: Telegram bot
// tokens (<5..16 digits>:A<34 of [A-Za-z0-9_-]>) and Kubernetes Secret data: blocks.
func scanColons(text string, dst []detect.Finding) []detect.Finding {
	for i := 0; i < len(text); {
		j := strings.IndexByte(text[i:], ':')
		if j < 0 {
			break
		}
		c := i + j
		i = c + 1
		if c >= 4 && text[c-4:c] == "data" {
			if e, ok := k8sSecretAt(text, c-4, &dst); ok {
				i = e
				continue
			}
		}
		if c+1 >= len(text) || text[c+1] != 'A' {
			continue
		}
		s := c
		for s > 0 && c-s < 17 && isDigit(text[s-1]) {
			s--
		}
		if c-s < 5 || c-s > 16 || s > 0 && isWordByte(text[s-1]) {
			continue
		}
		e := c + 2
		for e < len(text) && e-c-2 <= 34 && isWordByte(text[e]) {
			e++
		}
		if e-c-2 != 34 || e < len(text) && isWordByte(text[e]) || entropy(text[c+1:e]) < 3.5 {
			continue
		}
		dst = append(dst, finding(ProviderToken, s, e, 0.9, "telegram_bot_token"))
		i = e
	}
	return dst
}
