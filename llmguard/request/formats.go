package request

import "strconv"

// The per-API readers. Each validates the fields it interprets (so that a malformed
// request is refused with a message naming the field instead of reaching the upstream
// half-checked) and records every text string as a segment. Strings in parts it does not
// know are still recorded when they sit in a "text" field, so that new content-part types
// cannot smuggle text past the guards.

// chatRoles are the roles OpenAI's chat API accepts; "function" is the deprecated form of
// "tool" that compatible servers still take.
var chatRoles = map[string]string{
	"system": "system", "developer": "system", "user": "user",
	"assistant": "assistant", "tool": "tool", "function": "tool",
}

func (b *builder) chat() error {
	msgs := b.root().get("messages")
	switch {
	case msgs == nil || msgs.kind == jsonNull:
		return errorf("messages", "you must provide messages")
	case msgs.kind != jsonArray:
		return errorf("messages", "messages must be an array, not %s", msgs.kind)
	case len(msgs.vals) == 0:
		return errorf("messages", "messages must contain at least one message")
	}
	for i, m := range msgs.vals {
		p := "messages[" + strconv.Itoa(i) + "]"
		if m.kind != jsonObject {
			return errorf(p, "%s must be an object, not %s", p, m.kind)
		}
		rv := m.get("role")
		if rv == nil || rv.kind != jsonString {
			return errorf(p+".role", "%s.role must be one of system, developer, user, assistant, tool", p)
		}
		role, ok := chatRoles[rv.str]
		if !ok {
			return errorf(p+".role", "%s.role %q is not one of system, developer, user, assistant, tool", p, truncate(rv.str, 32))
		}
		idx := b.newMessage(rv.str)
		if nv := m.get("name"); nv != nil && nv.kind == jsonString {
			b.r.Names[idx] = nv.str
		}
		src := SourceContent
		if role == "tool" {
			src = SourceToolResult
		}
		if err := b.chatContent(role, src, p+".content", idx, m.get("content")); err != nil {
			return err
		}
		if rf := m.get("refusal"); rf != nil && rf.kind == jsonString {
			b.add(role, SourceContent, p+".refusal", idx, rf)
		}
		if tc := m.get("tool_calls"); tc != nil && tc.kind != jsonNull {
			if tc.kind != jsonArray {
				return errorf(p+".tool_calls", "%s.tool_calls must be an array", p)
			}
			for j, call := range tc.vals {
				cp := p + ".tool_calls[" + strconv.Itoa(j) + "]"
				if err := b.functionCall(role, cp, idx, call.get("function")); err != nil {
					return err
				}
			}
		}
		if fc := m.get("function_call"); fc != nil && fc.kind != jsonNull {
			if err := b.functionCall(role, p, idx, fc); err != nil {
				return err
			}
		}
	}
	b.toolSpecs("tools", func(t *value) *value { return t.get("function") })
	b.toolSpecs("functions", func(t *value) *value { return t })
	return b.maxTokens("max_completion_tokens", "max_tokens")
}

// chatContent reads an OpenAI message content: a string, null, or an array of parts.
func (b *builder) chatContent(role string, src Source, p string, msg int, c *value) error {
	if c == nil || c.kind == jsonNull {
		return nil
	}
	switch c.kind {
	case jsonString:
		b.add(role, src, p, msg, c)
		return nil
	case jsonArray:
		for k, part := range c.vals {
			pp := p + "[" + strconv.Itoa(k) + "]"
			if part.kind == jsonString { // Responses-style shorthand some servers accept
				b.add(role, src, pp, msg, part)
				continue
			}
			if part.kind != jsonObject {
				return errorf(pp, "%s must be an object, not %s", pp, part.kind)
			}
			b.part(role, src, pp, msg, part)
		}
		return nil
	}
	return errorf(p, "%s must be a string or an array of content parts, not %s", p, c.kind)
}

// part reads one typed content part/block of any of the APIs.
func (b *builder) part(role string, src Source, p string, msg int, part *value) {
	typ := ""
	if tv := part.get("type"); tv != nil && tv.kind == jsonString {
		typ = tv.str
	}
	switch typ {
	// Binary parts (and an OpenAI file's base64 file_data) are attachments: counted for
	// token estimates, not scanned. Anthropic document blocks that carry text are read by
	// anthropicDocument before they get here.
	case "image_url", "input_image", "image", "input_audio", "file", "input_file", "document":
		b.r.Images++
		return
	case "refusal":
		if rv := part.get("refusal"); rv != nil && rv.kind == jsonString {
			b.add(role, src, p+".refusal", msg, rv)
		}
		return
	}
	if tv := part.get("text"); tv != nil && tv.kind == jsonString {
		b.add(role, src, p+".text", msg, tv)
	}
}

// functionCall reads {"name":…, "arguments":"<json text>"} of an OpenAI tool call.
func (b *builder) functionCall(role, p string, msg int, fn *value) error {
	if fn == nil || fn.kind != jsonObject {
		return errorf(p+".function", "%s.function must be an object with name and arguments", p)
	}
	if av := fn.get("arguments"); av != nil && av.kind != jsonNull {
		if av.kind != jsonString {
			return errorf(p+".function.arguments", "%s.function.arguments must be a string of JSON", p)
		}
		b.add(role, SourceToolCall, p+".function.arguments", msg, av)
	}
	return nil
}

// toolSpecs records tool descriptions; fn picks the object holding "description".
func (b *builder) toolSpecs(field string, fn func(*value) *value) {
	tv := b.root().get(field)
	if tv == nil || tv.kind != jsonArray {
		return
	}
	for i, t := range tv.vals {
		d := fn(t).get("description")
		if d != nil && d.kind == jsonString {
			b.add("system", SourceToolSpec, field+"["+strconv.Itoa(i)+"].description", -1, d)
		}
	}
}

// responses reads an OpenAI Responses API request.
func (b *builder) responses() error {
	root := b.root()
	if iv := root.get("instructions"); iv != nil && iv.kind != jsonNull {
		if iv.kind != jsonString {
			return errorf("instructions", "instructions must be a string, not %s", iv.kind)
		}
		b.add("system", SourceContent, "instructions", b.newMessage("system"), iv)
	}
	in := root.get("input")
	switch {
	case in == nil || in.kind == jsonNull:
		// Allowed: a request may continue a stored conversation by previous_response_id.
	case in.kind == jsonString:
		b.add("user", SourceContent, "input", b.newMessage("user"), in)
	case in.kind == jsonArray:
		for i, item := range in.vals {
			if err := b.responseItem("input["+strconv.Itoa(i)+"]", item); err != nil {
				return err
			}
		}
	default:
		return errorf("input", "input must be a string or an array of input items, not %s", in.kind)
	}
	b.toolSpecs("tools", func(t *value) *value { return t })
	return b.maxTokens("max_output_tokens")
}

func (b *builder) responseItem(p string, item *value) error {
	if item.kind != jsonObject {
		return errorf(p, "%s must be an object, not %s", p, item.kind)
	}
	typ := ""
	if tv := item.get("type"); tv != nil && tv.kind == jsonString {
		typ = tv.str
	}
	switch typ {
	case "function_call", "custom_tool_call":
		idx := b.newMessage("assistant")
		for _, f := range []string{"arguments", "input"} {
			if av := item.get(f); av != nil && av.kind == jsonString {
				b.add("assistant", SourceToolCall, p+"."+f, idx, av)
			}
		}
		return nil
	case "function_call_output", "custom_tool_call_output":
		idx := b.newMessage("tool")
		out := item.get("output")
		if out == nil {
			return nil
		}
		return b.chatContent("tool", SourceToolResult, p+".output", idx, out)
	case "reasoning":
		idx := b.newMessage("assistant")
		if sv := item.get("summary"); sv != nil && sv.kind == jsonArray {
			for k, s := range sv.vals {
				if tv := s.get("text"); tv != nil && tv.kind == jsonString {
					b.add("assistant", SourceReasoning, p+".summary["+strconv.Itoa(k)+"].text", idx, tv)
				}
			}
		}
		return nil
	case "", "message":
		rv := item.get("role")
		if rv == nil || rv.kind != jsonString {
			return errorf(p+".role", "%s.role must be one of user, assistant, system, developer", p)
		}
		role, ok := chatRoles[rv.str]
		if !ok || role == "tool" {
			return errorf(p+".role", "%s.role %q is not one of user, assistant, system, developer", p, truncate(rv.str, 32))
		}
		idx := b.newMessage(rv.str)
		return b.chatContent(role, SourceContent, p+".content", idx, item.get("content"))
	}
	// Other item types (item_reference, web_search_call, …) carry no client text; they
	// still count as conversation items.
	b.newMessage("assistant")
	return nil
}

// messages reads an Anthropic Messages API request.
func (b *builder) messages() error {
	root := b.root()
	if sv := root.get("system"); sv != nil && sv.kind != jsonNull {
		idx := b.newMessage("system")
		switch sv.kind {
		case jsonString:
			b.add("system", SourceContent, "system", idx, sv)
		case jsonArray:
			for i, blk := range sv.vals {
				p := "system[" + strconv.Itoa(i) + "]"
				if blk.kind != jsonObject {
					return errorf(p, "%s must be a text block object", p)
				}
				b.part("system", SourceContent, p, idx, blk)
			}
		default:
			return errorf("system", "system must be a string or an array of text blocks, not %s", sv.kind)
		}
	}
	msgs := root.get("messages")
	switch {
	case msgs == nil || msgs.kind == jsonNull:
		return errorf("messages", "messages: Field required")
	case msgs.kind != jsonArray:
		return errorf("messages", "messages must be an array, not %s", msgs.kind)
	}
	for i, m := range msgs.vals {
		p := "messages." + strconv.Itoa(i)
		if m.kind != jsonObject {
			return errorf(p, "%s must be an object, not %s", p, m.kind)
		}
		rv := m.get("role")
		if rv == nil || rv.kind != jsonString || (rv.str != "user" && rv.str != "assistant") {
			return errorf(p+".role", "%s.role must be \"user\" or \"assistant\"", p)
		}
		role := rv.str
		idx := b.newMessage(role)
		c := m.get("content")
		switch {
		case c == nil:
			return errorf(p+".content", "%s.content: Field required", p)
		case c.kind == jsonString:
			b.add(role, SourceContent, p+".content", idx, c)
		case c.kind == jsonArray:
			for k, blk := range c.vals {
				if err := b.anthropicBlock(role, p+".content."+strconv.Itoa(k), idx, blk); err != nil {
					return err
				}
			}
		default:
			return errorf(p+".content", "%s.content must be a string or an array of content blocks, not %s", p, c.kind)
		}
	}
	b.toolSpecs("tools", func(t *value) *value { return t })
	if v := root.get("max_tokens"); v == nil || v.kind == jsonNull {
		return errorf("max_tokens", "max_tokens: Field required")
	}
	return b.maxTokens("max_tokens")
}

func (b *builder) anthropicBlock(role, p string, msg int, blk *value) error {
	if blk.kind != jsonObject {
		return errorf(p, "%s must be a content block object, not %s", p, blk.kind)
	}
	typ := ""
	if tv := blk.get("type"); tv != nil && tv.kind == jsonString {
		typ = tv.str
	}
	switch typ {
	case "tool_use", "server_tool_use":
		if in := blk.get("input"); in != nil {
			b.strings(role, SourceToolCall, p+".input", msg, in)
		}
	case "tool_result":
		c := blk.get("content")
		switch {
		case c == nil || c.kind == jsonNull:
		case c.kind == jsonString:
			b.add("tool", SourceToolResult, p+".content", msg, c)
		case c.kind == jsonArray:
			for k, inner := range c.vals {
				ip := p + ".content." + strconv.Itoa(k)
				if inner.kind != jsonObject {
					return errorf(ip, "%s must be a content block object", ip)
				}
				ok, err := b.anthropicData("tool", ip, msg, inner)
				if err != nil {
					return err
				}
				if !ok {
					b.part("tool", SourceToolResult, ip, msg, inner)
					// A text block here may quote documents too (the same TextBlockParam).
					if err := b.citations("tool", ip, msg, inner.get("citations")); err != nil {
						return err
					}
				}
			}
		default:
			return errorf(p+".content", "%s.content must be a string or an array of blocks", p)
		}
	case "thinking":
		if tv := blk.get("thinking"); tv != nil && tv.kind == jsonString {
			b.add(role, SourceReasoning, p+".thinking", msg, tv)
		}
	case "redacted_thinking":
		// Opaque encrypted data, not text.
	case "web_search_tool_result", "web_fetch_tool_result":
		if err := b.serverToolResult(role, p+".content", msg, blk.get("content")); err != nil {
			return err
		}
		// Text or citations on the block itself are not part of the API's shape, but are
		// read as on any other block rather than passed unscanned.
		b.part(role, SourceContent, p, msg, blk)
		return b.citations(role, p, msg, blk.get("citations"))
	default:
		if ok, err := b.anthropicData(role, p, msg, blk); ok || err != nil {
			return err
		}
		b.part(role, SourceContent, p, msg, blk)
		return b.citations(role, p, msg, blk.get("citations"))
	}
	return nil
}

// citations reads the citations of a text block that an assistant turn sent back with
// (char_location, page_location, content_block_location, search_result_location,
// web_search_result_location): their cited_text and titles quote a document — one the
// client attached earlier, or a web page a server tool fetched — so they are recorded as
// SourceDocument, untrusted data like the document itself. A client may replay them
// verbatim, and a quote is where a document's embedded instruction would travel into
// later turns after the document itself is dropped from the context. Null is "none" (as
// the SDKs echo a response's text block); the other fields (indices, URLs, opaque
// encrypted_index) are not text the model reads as prose.
func (b *builder) citations(role, p string, msg int, c *value) error {
	if c == nil || c.kind == jsonNull {
		return nil
	}
	p += ".citations"
	if c.kind != jsonArray {
		return errorf(p, "%s must be an array of citations, not %s", p, c.kind)
	}
	for k, cit := range c.vals {
		cp := p + "." + strconv.Itoa(k)
		if cit.kind != jsonObject {
			return errorf(cp, "%s must be a citation object, not %s", cp, cit.kind)
		}
		for _, f := range []string{"cited_text", "document_title", "title"} {
			if err := b.optString(role, cp, f, msg, cit); err != nil {
				return err
			}
		}
	}
	return nil
}

// serverToolResult reads what Anthropic's server tools fetched from the web, as an
// assistant turn sent back carries it: web search results (their page titles; the page
// text is encrypted_content, opaque to the gateway) and a fetched page (a document block
// whose text source is the page). Both are written by whoever controls the page, so they
// are SourceDocument: untrusted data, scanned for embedded instructions. The error
// variants (web_search_tool_result_error, web_fetch_tool_result_error) and shapes that
// hold no text pass unread, so that a newer variant does not break a conversation; a
// fetched document is checked as any document block (a malformed one is refused with 400
// rather than scanned in part).
func (b *builder) serverToolResult(role, p string, msg int, c *value) error {
	switch {
	case c == nil:
	case c.kind == jsonArray: // web search: [{type: web_search_result, title, url, encrypted_content, …}]
		for k, r := range c.vals {
			if r.kind == jsonObject {
				if err := b.optString(role, p+"."+strconv.Itoa(k), "title", msg, r); err != nil {
					return err
				}
			}
		}
	case c.kind == jsonObject: // web fetch: {type: web_fetch_result, url, content: {type: document, …}}
		if doc := c.get("content"); doc != nil && doc.kind == jsonObject {
			if tv := doc.get("type"); tv != nil && tv.kind == jsonString && tv.str == "document" {
				return b.anthropicDocument(role, p+".content", msg, doc)
			}
		}
	}
	return nil
}

// anthropicData reads a document or search_result block (in a message or inside a
// tool_result) and reports whether blk was one. Their text is material the client
// attaches, not its own words, so it is recorded as SourceDocument: scanned like any text
// and, as untrusted data, for embedded instructions.
func (b *builder) anthropicData(role, p string, msg int, blk *value) (bool, error) {
	typ := ""
	if tv := blk.get("type"); tv != nil && tv.kind == jsonString {
		typ = tv.str
	}
	switch typ {
	case "document":
		return true, b.anthropicDocument(role, p, msg, blk)
	case "search_result":
		for _, f := range []string{"source", "title"} {
			if err := b.optString(role, p, f, msg, blk); err != nil {
				return true, err
			}
		}
		return true, b.dataBlocks(role, p+".content", msg, blk.get("content"), false)
	}
	return false, nil
}

// anthropicDocument reads a document block. A text source ("data") and a content source
// (a string or text blocks) are read as segments; base64, URL and file sources (PDFs) are
// binary or out of reach and only counted as attachments.
func (b *builder) anthropicDocument(role, p string, msg int, blk *value) error {
	for _, f := range []string{"title", "context"} {
		if err := b.optString(role, p, f, msg, blk); err != nil {
			return err
		}
	}
	src := blk.get("source")
	if src == nil || src.kind != jsonObject {
		return errorf(p+".source", "%s.source must be an object", p)
	}
	typ := ""
	if tv := src.get("type"); tv != nil && tv.kind == jsonString {
		typ = tv.str
	}
	switch typ {
	case "text":
		dv := src.get("data")
		if dv == nil || dv.kind != jsonString {
			return errorf(p+".source.data", "%s.source.data must be a string", p)
		}
		b.add(role, SourceDocument, p+".source.data", msg, dv)
	case "content":
		c := src.get("content")
		if c != nil && c.kind == jsonString {
			b.add(role, SourceDocument, p+".source.content", msg, c)
			return nil
		}
		return b.dataBlocks(role, p+".source.content", msg, c, true)
	default: // base64, url, file, and types this parser does not know
		b.r.Images++
		// A text "data" under an unknown source type is still read, so that new source
		// types cannot smuggle text past the guards.
		if dv := src.get("data"); dv != nil && dv.kind == jsonString && typ != "base64" {
			b.add(role, SourceDocument, p+".source.data", msg, dv)
		}
	}
	return nil
}

// dataBlocks reads the array of text blocks of a search result or a content-sourced
// document (which may also hold images, counted as attachments).
func (b *builder) dataBlocks(role, p string, msg int, c *value, images bool) error {
	what := "text blocks"
	if images {
		what = "text or image blocks"
	}
	if c == nil || c.kind != jsonArray {
		return errorf(p, "%s must be an array of %s", p, what)
	}
	for k, inner := range c.vals {
		ip := p + "." + strconv.Itoa(k)
		if inner.kind != jsonObject {
			return errorf(ip, "%s must be a content block object", ip)
		}
		if tv := inner.get("type"); images && tv != nil && tv.kind == jsonString && tv.str == "image" {
			b.r.Images++
			continue
		}
		tv := inner.get("text")
		if tv == nil || tv.kind != jsonString {
			return errorf(ip+".text", "%s.text must be a string", ip)
		}
		b.add(role, SourceDocument, ip+".text", msg, tv)
		if err := b.citations(role, ip, msg, inner.get("citations")); err != nil {
			return err
		}
	}
	return nil
}

// optString records blk[field] as document text when it is a string; null or absent is
// fine, another type is refused.
func (b *builder) optString(role, p, field string, msg int, blk *value) error {
	v := blk.get(field)
	switch {
	case v == nil || v.kind == jsonNull:
		return nil
	case v.kind != jsonString:
		return errorf(p+"."+field, "%s.%s must be a string, not %s", p, field, v.kind)
	}
	b.add(role, SourceDocument, p+"."+field, msg, v)
	return nil
}
