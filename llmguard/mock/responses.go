package mock

// The OpenAI Responses API, JSON and streamed (openai-responses-* fixtures). A reply cut
// by max_output_tokens is "incomplete" with incomplete_details.reason
// "max_output_tokens", and its stream ends with response.incomplete, as OpenAI does.

type response struct {
	ID                string             `json:"id"`
	Object            string             `json:"object"`
	CreatedAt         int64              `json:"created_at"`
	Status            string             `json:"status"`
	Error             *responseError     `json:"error"`
	IncompleteDetails *incompleteDetails `json:"incomplete_details"`
	MaxOutputTokens   *int64             `json:"max_output_tokens"`
	Model             string             `json:"model"`
	Output            []outputItem       `json:"output"`
	// Usage is null until the response is done, and when X-Mock-No-Usage is set.
	Usage *responseUsage `json:"usage"`
}

type responseError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

type incompleteDetails struct {
	Reason string `json:"reason"`
}

type outputItem struct {
	Type    string       `json:"type"`
	ID      string       `json:"id"`
	Status  string       `json:"status"`
	Role    string       `json:"role"`
	Content []outputText `json:"content"`
}

type outputText struct {
	Type        string     `json:"type"`
	Text        string     `json:"text"`
	Annotations []struct{} `json:"annotations"`
	Logprobs    []struct{} `json:"logprobs"`
}

type responseUsage struct {
	InputTokens        int64 `json:"input_tokens"`
	OutputTokens       int64 `json:"output_tokens"`
	TotalTokens        int64 `json:"total_tokens"`
	InputTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"input_tokens_details"`
	OutputTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"output_tokens_details"`
}

// Stream events, one type per payload shape.
type (
	respLifecycle struct {
		Type           string   `json:"type"`
		SequenceNumber int      `json:"sequence_number"`
		Response       response `json:"response"`
	}
	respItem struct {
		Type           string     `json:"type"`
		SequenceNumber int        `json:"sequence_number"`
		OutputIndex    int        `json:"output_index"`
		Item           outputItem `json:"item"`
	}
	respPart struct {
		Type           string     `json:"type"`
		SequenceNumber int        `json:"sequence_number"`
		ItemID         string     `json:"item_id"`
		OutputIndex    int        `json:"output_index"`
		ContentIndex   int        `json:"content_index"`
		Part           outputText `json:"part"`
	}
	respText struct {
		Type           string     `json:"type"`
		SequenceNumber int        `json:"sequence_number"`
		ItemID         string     `json:"item_id"`
		OutputIndex    int        `json:"output_index"`
		ContentIndex   int        `json:"content_index"`
		Delta          *string    `json:"delta,omitempty"`
		Text           *string    `json:"text,omitempty"`
		Logprobs       []struct{} `json:"logprobs"`
	}
	respErrorEvent struct {
		Type           string `json:"type"`
		SequenceNumber int    `json:"sequence_number"`
		Error          struct {
			Type    string  `json:"type"`
			Code    string  `json:"code"`
			Message string  `json:"message"`
			Param   *string `json:"param"`
		} `json:"error"`
	}
)

func newOutputText(text string) outputText {
	return outputText{Type: "output_text", Text: text, Annotations: []struct{}{}, Logprobs: []struct{}{}}
}

func (c *call) responseUsage(output int64) *responseUsage {
	in := c.promptTokens()
	return &responseUsage{InputTokens: in, OutputTokens: output, TotalTokens: in + output}
}

// responseShell is the response object in a given state, without output or usage.
func (c *call) responseShell(id, status string) response {
	r := response{ID: id, Object: "response", CreatedAt: c.now, Status: status, Model: c.req.Model, Output: []outputItem{}}
	if c.req.MaxOutputTokens > 0 {
		m := c.req.MaxOutputTokens
		r.MaxOutputTokens = &m
	}
	return r
}

// finished fills in the final state of a response carrying rep in item msgID.
func (c *call) finished(r response, msgID string, rep reply) response {
	r.Status = "completed"
	itemStatus := "completed"
	if rep.Truncated {
		r.Status, itemStatus = "incomplete", "incomplete"
		r.IncompleteDetails = &incompleteDetails{Reason: "max_output_tokens"}
	}
	r.Output = []outputItem{{Type: "message", ID: msgID, Status: itemStatus, Role: "assistant",
		Content: []outputText{newOutputText(rep.Text)}}}
	if c.usage {
		r.Usage = c.responseUsage(rep.Tokens)
	}
	return r
}

func (c *call) responses() {
	rep := c.reply()
	id, msgID := c.id("resp_"), c.id("msg_")
	if !c.req.Stream {
		writeJSON(c.w, c.finished(c.responseShell(id, "completed"), msgID, rep))
		return
	}
	st := c.startStream()
	seq := 0
	send := func(v interface{ eventType() string }) bool {
		ok := st.send(v.eventType(), v)
		seq++
		return ok
	}
	shell := c.responseShell(id, "in_progress")
	if !send(respLifecycle{Type: "response.created", SequenceNumber: seq, Response: shell}) ||
		!send(respLifecycle{Type: "response.in_progress", SequenceNumber: seq, Response: shell}) {
		return
	}
	item := outputItem{Type: "message", ID: msgID, Status: "in_progress", Role: "assistant", Content: []outputText{}}
	if !send(respItem{Type: "response.output_item.added", SequenceNumber: seq, Item: item}) ||
		!send(respPart{Type: "response.content_part.added", SequenceNumber: seq, ItemID: msgID, Part: newOutputText("")}) {
		return
	}
	sent := 0
	for _, part := range chunks(rep.Text, c.s.cfg.ChunkSize) {
		if c.failNow(sent) {
			c.responseFailed(st, shell, seq)
			return
		}
		if !st.pause() || !send(respText{Type: "response.output_text.delta", SequenceNumber: seq, ItemID: msgID, Delta: &part, Logprobs: []struct{}{}}) {
			return
		}
		sent++
	}
	if c.failing() {
		c.responseFailed(st, shell, seq)
		return
	}
	final := c.finished(shell, msgID, rep)
	if !send(respText{Type: "response.output_text.done", SequenceNumber: seq, ItemID: msgID, Text: &rep.Text, Logprobs: []struct{}{}}) ||
		!send(respPart{Type: "response.content_part.done", SequenceNumber: seq, ItemID: msgID, Part: newOutputText(rep.Text)}) ||
		!send(respItem{Type: "response.output_item.done", SequenceNumber: seq, Item: final.Output[0]}) {
		return
	}
	done := "response.completed"
	if rep.Truncated {
		done = "response.incomplete"
	}
	send(respLifecycle{Type: done, SequenceNumber: seq, Response: final})
}

// responseFailed ends a stream as OpenAI does on a mid-stream failure: an error event,
// then response.failed carrying the error.
func (c *call) responseFailed(st *stream, shell response, seq int) {
	e := midStreamError(false)
	ev := respErrorEvent{Type: "error", SequenceNumber: seq}
	ev.Error.Type, ev.Error.Code, ev.Error.Message = "server_error", e.Code, e.Message
	if !st.send("error", ev) {
		return
	}
	shell.Status = "failed"
	shell.Error = &responseError{Code: e.Code, Message: e.Message}
	st.send("response.failed", respLifecycle{Type: "response.failed", SequenceNumber: seq + 1, Response: shell})
}

func (e respLifecycle) eventType() string { return e.Type }
func (e respItem) eventType() string      { return e.Type }
func (e respPart) eventType() string      { return e.Type }
func (e respText) eventType() string      { return e.Type }
