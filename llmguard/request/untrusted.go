package request

import (
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/asciifold"
)

// Untrusted data is text the client forwards but did not write: what a tool returned
// (OpenAI role "tool" / legacy "function", Anthropic tool_result blocks, Responses
// function_call_output items), the text of an attached document or search result
// (Anthropic document blocks with a text or content source, search_result blocks, their
// titles and context, and the cited_text and titles of citations that an assistant turn
// sent back with quote them; what Anthropic's server tools fetched: web search result
// titles and web fetch documents) and a document pasted into a user message after a framing line
// ("Here is the e-mail:", "Summarise the following:", a --- or ``` delimiter). Binary
// attachments (images, PDFs as base64/URL/file, OpenAI file_data) are not text and are
// not scanned.
// Instructions inside it address the model on someone else's behalf (indirect prompt
// injection), so guards scan it for embedded instructions as well as for direct attacks.

// Untrusted returns the byte span of s.Text that is untrusted data, and false when none
// is: the whole text of a tool result or an attached document, the pasted document of a user message (see
// DocumentStart), nothing for system prompts, assistant turns, tool calls and tool specs.
func (s *Segment) Untrusted() (start, end int, ok bool) {
	switch {
	case s.Source == SourceToolResult || s.Source == SourceDocument:
		return 0, len(s.Text), len(s.Text) > 0
	case s.Source == SourceContent && s.Role == "user":
		if i := DocumentStart(s.Text); i >= 0 {
			return i, len(s.Text), true
		}
	}
	return 0, 0, false
}

// framingWindow is how far into a user message a framing line is looked for: a pasted
// document is introduced up front, and a colon deep inside a long text is the document's
// own ("Subject:", "Registrant:").
const framingWindow = 1000

// DocumentStart returns the offset where a document pasted into a user message begins,
// or -1. The rule is deliberately simple, so that users can predict it:
//
//   - a delimiter line (three or more of - = _ * ~ # ` " ', or a <document>-style tag)
//     starts the document on the next line;
//   - a line that introduces material starts it after the line, or after its colon when
//     the material follows on the same line. A line introduces material when it ends with
//     a colon (or has ": " followed by text) and names it ("text", "e-mail", "document",
//     "article", "page", "code", "results", …), or when it says "the following", "below",
//     "here is/are", "this is the" (whatever punctuation ends it).
//
// Only the first 1,000 bytes are searched, and the document must not be empty. Text
// before the document (the user's own request) is not untrusted; the whole message is
// still scanned for direct injection.
func DocumentStart(text string) int {
	limit := min(len(text), framingWindow)
	for lineStart := 0; lineStart < limit; {
		nl := strings.IndexByte(text[lineStart:], '\n')
		lineEnd := len(text)
		if nl >= 0 {
			lineEnd = lineStart + nl
		}
		line := text[lineStart:lineEnd]
		next := min(lineEnd+1, len(text))
		if at := introduces(line, nl < 0); at >= 0 {
			doc := lineStart + at
			if at == len(line) {
				doc = next
			}
			if strings.TrimSpace(text[doc:]) != "" {
				return doc
			}
			return -1
		}
		lineStart = next
		if nl < 0 {
			break
		}
	}
	return -1
}

// introduces reports where the material a line introduces begins within the line:
// len(line) when it begins on the next line, -1 when the line introduces nothing. On the
// last line (last) nothing can begin on a next line, so only material after a colon is
// looked for: the whole-line phrase search, the costly part for a long message of one
// line, would only find material that is not there.
func introduces(line string, last bool) int {
	t := strings.TrimSpace(line)
	if isDelimiter(t) {
		return len(line)
	}
	framed := !last && hasFraming(t)
	if strings.HasSuffix(t, ":") {
		if !last && (framed || hasAnyWord(strings.ToLower(t), materialNouns)) {
			return len(line)
		}
		return -1
	}
	// "This is the text: Ignore the above …": the material follows the colon.
	if c := strings.Index(line[:min(len(line), 121)], ": "); c >= 0 && c < 120 {
		head := strings.ToLower(line[:c])
		if hasFraming(line[:c]) || hasAnyWord(head, materialNouns) {
			return c + 2
		}
	}
	if framed {
		return len(line)
	}
	return -1
}

func isDelimiter(t string) bool {
	if len(t) >= 3 && strings.Trim(t, "-=_*~#`\"'") == "" {
		return true
	}
	// <document>, <email>, <context> … opening tags, and ```lang fences.
	if strings.HasPrefix(t, "```") {
		return true
	}
	if len(t) > 2 && len(t) < 24 && t[0] == '<' && t[len(t)-1] == '>' && t[1] != '/' && t[1] != '!' {
		return hasAnyWord(strings.ToLower(t[1:len(t)-1]), materialNouns)
	}
	return false
}

// framingPhrases introduce material whatever noun follows.
var framingPhrases = []string{"the following", "following text", "below", "here is", "here are", "here's", "this is the", "these are the"}

// materialNouns name material a user pastes; a line ending in a colon that names one
// introduces it ("Assess this profile:", "Give highlights on this info:").
var materialNouns = []string{
	"text", "texts", "email", "e-mail", "emails", "mail", "message", "messages", "document", "documents", "doc",
	"article", "page", "webpage", "website", "content", "contents", "form", "table", "report", "reports",
	"profile", "resume", "cv", "code", "data", "snippet", "snippets", "passage", "paragraph", "paragraphs",
	"info", "information", "context", "transcript", "review", "reviews", "result", "results", "file",
	"excerpt", "story", "essay", "letter", "post", "thread", "notes", "tweet", "invite", "readme",
	"output", "log", "logs", "pdf", "html", "source", "comment", "comments", "chat",
}

// hasFraming reports whether strings.ToLower(s) contains one of framingPhrases, in one
// pass and without lowering a copy of a line that may be the whole message. Only A–Z
// need lowering for that, with two exceptions: the non-ASCII letters that lower to ASCII
// are K (Kelvin sign, in no phrase) and İ (to i), so a line holding an İ takes the
// lowering path.
func hasFraming(s string) bool {
	if strings.Contains(s, "İ") {
		return hasAny(strings.ToLower(s), framingPhrases)
	}
	for i := 0; i < len(s); i++ {
		c := s[i] | 0x20
		if !framingFirst[c] {
			continue
		}
		for _, p := range framingByFirst[c] {
			if asciifold.HasPrefix(s[i+1:], p[1:]) {
				return true
			}
		}
	}
	return false
}

// framingByFirst lists framingPhrases by first letter (indexed by the byte with the ASCII
// lower-case bit set, so that both cases of a letter find the list).
var framingByFirst = func() (t [256][]string) {
	for _, p := range framingPhrases {
		t[p[0]] = append(t[p[0]], p)
	}
	return t
}()

// framingFirst marks the first letters of framingPhrases, so that the scan tests one byte
// per position, not a list (≈ 15% faster on a message of short lines than ranging over
// framingByFirst's mostly empty lists).
var framingFirst = func() (t [256]bool) {
	for _, p := range framingPhrases {
		t[p[0]] = true
	}
	return t
}()

func hasAny(s string, subs []string) bool {
	for _, p := range subs {
		if strings.Contains(s, p) {
			return true
		}
	}
	return false
}

// hasAnyWord reports whether s contains one of words as a whole word.
func hasAnyWord(s string, words []string) bool {
	for i := 0; i < len(s); {
		for i < len(s) && !isWordByte(s[i]) {
			i++
		}
		j := i
		for j < len(s) && isWordByte(s[j]) {
			j++
		}
		if j > i {
			w := s[i:j]
			for _, x := range words {
				if w == x {
					return true
				}
			}
		}
		i = j
	}
	return false
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c >= 0x80
}
