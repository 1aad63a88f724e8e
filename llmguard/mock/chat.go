package mock

import "github.com/llmguard/caddy-llmguard/llmguard/apierr"

// OpenAI chat completions and legacy completions, JSON and streamed. Field order and
// nulls follow recorded OpenAI traffic (openai-chat-*.json/.sse fixtures), because some
// clients and gateways are stricter than the official SDKs.

type chatCompletion struct {
	ID      string       `json:"id"`
	Object  string       `json:"object"`
	Created int64        `json:"created"`
	Model   string       `json:"model"`
	Choices []chatChoice `json:"choices"`
	Usage   *chatUsage   `json:"usage,omitempty"`
}

type chatChoice struct {
	Index        int         `json:"index"`
	Message      chatMessage `json:"message"`
	Logprobs     *struct{}   `json:"logprobs"`
	FinishReason string      `json:"finish_reason"`
}

type chatMessage struct {
	Role    string  `json:"role"`
	Content string  `json:"content"`
	Refusal *string `json:"refusal"`
}

type chatUsage struct {
	PromptTokens        int64 `json:"prompt_tokens"`
	CompletionTokens    int64 `json:"completion_tokens"`
	TotalTokens         int64 `json:"total_tokens"`
	PromptTokensDetails struct {
		CachedTokens int64 `json:"cached_tokens"`
	} `json:"prompt_tokens_details"`
	CompletionTokensDetails struct {
		ReasoningTokens int64 `json:"reasoning_tokens"`
	} `json:"completion_tokens_details"`
}

type chatChunk struct {
	ID      string        `json:"id"`
	Object  string        `json:"object"`
	Created int64         `json:"created"`
	Model   string        `json:"model"`
	Choices []chunkChoice `json:"choices"`
	// Usage is omitted, null (include_usage, before the last chunk) or a *chatUsage.
	Usage any `json:"usage,omitempty"`
}

type chunkChoice struct {
	Index        int       `json:"index"`
	Delta        any       `json:"delta"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

// roleDelta is the first delta of each choice: role, empty content and a null refusal.
type roleDelta struct {
	Role    string  `json:"role"`
	Content string  `json:"content"`
	Refusal *string `json:"refusal"`
}

type contentDelta struct {
	Content string `json:"content"`
}

// usage returns the chat usage object: prompt tokens counted exactly as the gateway
// counts them, so the two agree to the token.
func (c *call) chatUsage(completion int64) *chatUsage {
	p := c.promptTokens()
	return &chatUsage{PromptTokens: p, CompletionTokens: completion, TotalTokens: p + completion}
}

func (c *call) chat() {
	rep := c.reply()
	n := int(c.req.N)
	if e := tooLarge(rep, n); e != nil {
		apierr.Write(c.w, false, e)
		return
	}
	if c.req.Stream {
		c.chatStream(rep, n)
		return
	}
	out := chatCompletion{ID: c.id("chatcmpl-"), Object: "chat.completion", Created: c.now, Model: c.req.Model,
		Choices: make([]chatChoice, n)}
	for i := range out.Choices {
		out.Choices[i] = chatChoice{Index: i, Message: chatMessage{Role: "assistant", Content: rep.Text}, FinishReason: finishReason(rep)}
	}
	if c.usage {
		out.Usage = c.chatUsage(rep.Tokens * int64(n))
	}
	writeJSON(c.w, out)
}

// chatStream sends, per choice, a role chunk, the content chunks (choices interleaved,
// as OpenAI does for n>1), a finish chunk, then the usage chunk when asked for, then
// [DONE].
func (c *call) chatStream(rep reply, n int) {
	st := c.startStream()
	id := c.id("chatcmpl-")
	withUsage := c.req.IncludeUsage && c.usage
	chunk := func(cc chunkChoice) chatChunk {
		ch := chatChunk{ID: id, Object: "chat.completion.chunk", Created: c.now, Model: c.req.Model, Choices: []chunkChoice{cc}}
		if withUsage {
			ch.Usage = jsonNull
		}
		return ch
	}
	for i := 0; i < n; i++ {
		if !st.send("", chunk(chunkChoice{Index: i, Delta: roleDelta{Role: "assistant"}})) {
			return
		}
	}
	sent := 0
	for _, part := range chunks(rep.Text, c.s.cfg.ChunkSize) {
		for i := 0; i < n; i++ {
			if c.failNow(sent) {
				st.raw(midStreamError(false).SSE(false))
				return
			}
			if !st.pause() || !st.send("", chunk(chunkChoice{Index: i, Delta: contentDelta{Content: part}})) {
				return
			}
			sent++
		}
	}
	if c.failing() {
		st.raw(midStreamError(false).SSE(false))
		return
	}
	finish := finishReason(rep)
	for i := 0; i < n; i++ {
		if !st.send("", chunk(chunkChoice{Index: i, Delta: struct{}{}, FinishReason: &finish})) {
			return
		}
	}
	if withUsage {
		u := chatChunk{ID: id, Object: "chat.completion.chunk", Created: c.now, Model: c.req.Model,
			Choices: []chunkChoice{}, Usage: c.chatUsage(rep.Tokens * int64(n))}
		if !st.send("", u) {
			return
		}
	}
	st.raw([]byte("data: [DONE]\n\n"))
}

type completion struct {
	ID      string             `json:"id"`
	Object  string             `json:"object"`
	Created int64              `json:"created"`
	Model   string             `json:"model"`
	Choices []completionChoice `json:"choices"`
	Usage   any                `json:"usage,omitempty"`
}

type completionChoice struct {
	Text         string    `json:"text"`
	Index        int       `json:"index"`
	Logprobs     *struct{} `json:"logprobs"`
	FinishReason *string   `json:"finish_reason"`
}

// completionUsage has no details objects: the legacy endpoint never sent them.
type completionUsage struct {
	PromptTokens     int64 `json:"prompt_tokens"`
	CompletionTokens int64 `json:"completion_tokens"`
	TotalTokens      int64 `json:"total_tokens"`
}

func (c *call) completionUsage(completion int64) *completionUsage {
	p := c.promptTokens()
	return &completionUsage{PromptTokens: p, CompletionTokens: completion, TotalTokens: p + completion}
}

// completions answers the legacy endpoint with n choices. Several prompts in one request
// are not answered one by one (OpenAI returns n choices per prompt); echo replies with
// the last prompt.
func (c *call) completions() {
	rep := c.reply()
	n := int(c.req.N)
	if e := tooLarge(rep, n); e != nil {
		apierr.Write(c.w, false, e)
		return
	}
	finish := finishReason(rep)
	if !c.req.Stream {
		out := completion{ID: c.id("cmpl-"), Object: "text_completion", Created: c.now, Model: c.req.Model,
			Choices: make([]completionChoice, n)}
		for i := range out.Choices {
			out.Choices[i] = completionChoice{Text: rep.Text, Index: i, FinishReason: &finish}
		}
		if c.usage {
			out.Usage = c.completionUsage(rep.Tokens * int64(n))
		}
		writeJSON(c.w, out)
		return
	}
	st := c.startStream()
	id := c.id("cmpl-")
	withUsage := c.req.IncludeUsage && c.usage
	chunk := func(cc completionChoice) completion {
		ch := completion{ID: id, Object: "text_completion", Created: c.now, Model: c.req.Model, Choices: []completionChoice{cc}}
		if withUsage {
			ch.Usage = jsonNull
		}
		return ch
	}
	sent := 0
	for _, part := range chunks(rep.Text, c.s.cfg.ChunkSize) {
		for i := 0; i < n; i++ {
			if c.failNow(sent) {
				st.raw(midStreamError(false).SSE(false))
				return
			}
			if !st.pause() || !st.send("", chunk(completionChoice{Text: part, Index: i})) {
				return
			}
			sent++
		}
	}
	if c.failing() {
		st.raw(midStreamError(false).SSE(false))
		return
	}
	for i := 0; i < n; i++ {
		if !st.send("", chunk(completionChoice{Index: i, FinishReason: &finish})) {
			return
		}
	}
	if withUsage {
		u := completion{ID: id, Object: "text_completion", Created: c.now, Model: c.req.Model,
			Choices: []completionChoice{}, Usage: c.completionUsage(rep.Tokens * int64(n))}
		if !st.send("", u) {
			return
		}
	}
	st.raw([]byte("data: [DONE]\n\n"))
}
