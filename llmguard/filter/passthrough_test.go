package filter

import (
	"bytes"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// TestJSONCleanIsByteExact: a reply with nothing to redact reaches the client as the
// upstream sent it — key order, whitespace, escapes and number spellings included — and
// only a real edit re-encodes.
func TestJSONCleanIsByteExact(t *testing.T) {
	p := testPolicy(t)
	for kind, body := range map[request.Kind]string{
		request.KindChat: "{\n  \"object\": \"chat.completion\", \"id\":\"c1\",\n  \"choices\": [ {\"message\": {\"role\":\"assistant\", " +
			"\"content\": \"caf\\u00e9 \\/ na\\u00efve \\ud83d\\ude00\"}, \"index\": 0, \"finish_reason\": \"stop\"} ],\n" +
			"  \"usage\": {\"prompt_tokens\": 1.0e1, \"completion_tokens\": 3, \"total_tokens\": 13}, \"created\": 1700000000\n}\n",
		request.KindMessages: `{"type":"message","content":[{"type":"text","text":"All \u0041 good"},` +
			`{"type":"tool_use","id":"t","name":"f","input":{"z":1,"a":[ "x", 2.50 ]}}],"usage":{"output_tokens":2,"input_tokens":1}}`,
		request.KindResponses: `{"output":[{"type":"message","content":[{"type":"output_text","text":"fine","annotations":[]}]}],` +
			`"id":"r","status":"completed","usage":{"total_tokens":1E2}}`,
	} {
		rep := &Report{}
		out, blocked, err := p.JSON(kind, []byte(body), rep)
		if err != nil || blocked || !bytes.Equal(out, []byte(body)) {
			t.Errorf("%v: clean reply changed (err %v, blocked %v):\n got %s\nwant %s", kind, err, blocked, out, body)
		}
	}

	body := `{"choices":[{"message":{"role":"assistant","content":"Mail jane.doe@example.com today"},"index":0}],"id":"c2"}`
	out, blocked, err := p.JSON(request.KindChat, []byte(body), &Report{})
	if err != nil || blocked || bytes.Equal(out, []byte(body)) || bytes.Contains(out, []byte("jane.doe")) {
		t.Fatalf("edited reply: err %v blocked %v out %s", err, blocked, out)
	}
}

// TestStreamTextlessEventsAreByteExact: events that carry no generated text (comments,
// the role event, the finish event, [DONE]) are forwarded as the upstream's bytes, CRLF
// line ends included. Text events are re-encoded: the filter releases prose one word
// behind the upstream (a value split across events must be caught whole), so their text
// moves between events; what the client assembles is the upstream's text.
func TestStreamTextlessEventsAreByteExact(t *testing.T) {
	p := testPolicy(t)
	events := []string{
		": keep-alive comment\r\n\r\n",
		"data: {\"id\":\"c1\",\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}\r\n\r\n",
		"data: {\"choices\":[{\"delta\":{\"content\":\"Hello there. \"},\"index\":0}],\"id\":\"c1\"}\n\n",
		"data: {\"choices\":[{\"delta\":{\"content\":\"caf\\u00e9 time.\"},\n" + "data: \"index\":0}],\"id\":\"c1\",\"n\":1.0e0}\n\n",
		"data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}],\"id\":\"c1\"}\n\n",
		"data: [DONE]\n\n",
	}
	raw := strings.Join(events, "")
	got, ended := run(t, NewStream(p, request.KindChat), raw, rand.New(rand.NewPCG(1, 2)), 7)
	if ended {
		t.Fatal("clean stream ended")
	}
	for _, i := range []int{0, 1, 4, 5} {
		if !strings.Contains(got, events[i]) {
			t.Errorf("text-less event %d re-encoded: %q\nin %q", i, events[i], got)
		}
	}
	if c := collect(t, request.KindChat, strings.TrimPrefix(got, events[0])); c.text != "Hello there. café time." {
		t.Errorf("assembled text %q", c.text)
	}
}
