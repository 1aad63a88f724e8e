package mock

// Anthropic Messages, JSON and streamed (anthropic-* fixtures). Input tokens are the
// gateway's estimate for the model (tokens.Prompt), not Anthropic's tokenizer: what
// matters for tests is that gateway and upstream agree.

type message struct {
	ID           string        `json:"id"`
	Type         string        `json:"type"`
	Role         string        `json:"role"`
	Model        string        `json:"model"`
	Content      []textBlock   `json:"content"`
	StopReason   *string       `json:"stop_reason"`
	StopSequence *string       `json:"stop_sequence"`
	Usage        *messageUsage `json:"usage,omitempty"`
}

type textBlock struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

type messageUsage struct {
	InputTokens              int64 `json:"input_tokens"`
	CacheCreationInputTokens int64 `json:"cache_creation_input_tokens"`
	CacheReadInputTokens     int64 `json:"cache_read_input_tokens"`
	OutputTokens             int64 `json:"output_tokens"`
}

type (
	messageStart struct {
		Type    string  `json:"type"`
		Message message `json:"message"`
	}
	blockStart struct {
		Type         string    `json:"type"`
		Index        int       `json:"index"`
		ContentBlock textBlock `json:"content_block"`
	}
	blockDelta struct {
		Type  string    `json:"type"`
		Index int       `json:"index"`
		Delta textBlock `json:"delta"`
	}
	blockStop struct {
		Type  string `json:"type"`
		Index int    `json:"index"`
	}
	messageDelta struct {
		Type  string `json:"type"`
		Delta struct {
			StopReason   string  `json:"stop_reason"`
			StopSequence *string `json:"stop_sequence"`
		} `json:"delta"`
		Usage *messageDeltaUsage `json:"usage,omitempty"`
	}
	// messageDeltaUsage repeats input_tokens, as current Anthropic streams do; output
	// tokens are cumulative.
	messageDeltaUsage struct {
		InputTokens  int64 `json:"input_tokens"`
		OutputTokens int64 `json:"output_tokens"`
	}
	typeOnly struct {
		Type string `json:"type"`
	}
)

func stopReason(rep reply) string {
	if rep.Truncated {
		return "max_tokens"
	}
	return "end_turn"
}

func (c *call) messageUsage(output int64) *messageUsage {
	return &messageUsage{InputTokens: c.promptTokens(), OutputTokens: output}
}

func (c *call) messages() {
	rep := c.reply()
	id := c.id("msg_")
	if !c.req.Stream {
		stop := stopReason(rep)
		out := message{ID: id, Type: "message", Role: "assistant", Model: c.req.Model,
			Content: []textBlock{{Type: "text", Text: rep.Text}}, StopReason: &stop}
		if c.usage {
			out.Usage = c.messageUsage(rep.Tokens)
		}
		writeJSON(c.w, out)
		return
	}
	st := c.startStream()
	start := message{ID: id, Type: "message", Role: "assistant", Model: c.req.Model, Content: []textBlock{}}
	if c.usage {
		// Anthropic reports one output token at message_start (the first sampled token).
		start.Usage = c.messageUsage(1)
	}
	if !st.send("message_start", messageStart{Type: "message_start", Message: start}) ||
		!st.send("content_block_start", blockStart{Type: "content_block_start", ContentBlock: textBlock{Type: "text"}}) ||
		!st.send("ping", typeOnly{Type: "ping"}) {
		return
	}
	sent := 0
	for _, part := range chunks(rep.Text, c.s.cfg.ChunkSize) {
		if c.failNow(sent) {
			st.raw(midStreamError(true).SSE(true))
			return
		}
		if !st.pause() || !st.send("content_block_delta", blockDelta{Type: "content_block_delta", Delta: textBlock{Type: "text_delta", Text: part}}) {
			return
		}
		sent++
	}
	if c.failing() {
		st.raw(midStreamError(true).SSE(true))
		return
	}
	md := messageDelta{Type: "message_delta"}
	md.Delta.StopReason = stopReason(rep)
	if c.usage {
		md.Usage = &messageDeltaUsage{InputTokens: c.promptTokens(), OutputTokens: rep.Tokens}
	}
	if !st.send("content_block_stop", blockStop{Type: "content_block_stop"}) || !st.send("message_delta", md) {
		return
	}
	st.send("message_stop", typeOnly{Type: "message_stop"})
}
