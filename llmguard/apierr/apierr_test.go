package apierr

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestWriteOpenAIShape(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, false, &Error{Status: 429, Type: "tokens", Code: "rate_limit_exceeded", Message: "slow down <now>", RetryAfter: 1500 * time.Millisecond})
	if rec.Code != 429 {
		t.Fatalf("status %d", rec.Code)
	}
	if got := rec.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After = %q, want 2 (rounded up)", got)
	}
	if got := rec.Header().Get("retry-after-ms"); got != "1500" {
		t.Errorf("retry-after-ms = %q", got)
	}
	if rec.Header().Get("x-should-retry") != "" {
		t.Errorf("x-should-retry set without NoRetry")
	}
	var body struct {
		Error struct {
			Message string  `json:"message"`
			Type    string  `json:"type"`
			Param   *string `json:"param"`
			Code    *string `json:"code"`
		} `json:"error"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatal(err)
	}
	if body.Error.Message != "slow down <now>" || body.Error.Type != "tokens" || body.Error.Code == nil || *body.Error.Code != "rate_limit_exceeded" || body.Error.Param != nil {
		t.Errorf("body = %s", rec.Body.String())
	}
	// param must be present as null, as OpenAI sends it.
	var raw map[string]map[string]json.RawMessage
	_ = json.Unmarshal(rec.Body.Bytes(), &raw)
	if string(raw["error"]["param"]) != "null" {
		t.Errorf("param = %s, want null", raw["error"]["param"])
	}
}

func TestWriteAnthropicShape(t *testing.T) {
	for _, tc := range []struct {
		status int
		typ    string
	}{
		{400, "invalid_request_error"}, {401, "authentication_error"}, {403, "permission_error"},
		{404, "not_found_error"}, {413, "request_too_large"}, {429, "rate_limit_error"},
		{500, "api_error"}, {502, "api_error"}, {529, "overloaded_error"},
	} {
		rec := httptest.NewRecorder()
		Write(rec, true, &Error{Status: tc.status, Message: "m", NoRetry: true})
		var body struct {
			Type  string `json:"type"`
			Error struct {
				Type    string `json:"type"`
				Message string `json:"message"`
			} `json:"error"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
			t.Fatal(err)
		}
		if body.Type != "error" || body.Error.Type != tc.typ || body.Error.Message != "m" {
			t.Errorf("%d: body = %s", tc.status, rec.Body.String())
		}
		if rec.Header().Get("x-should-retry") != "false" {
			t.Errorf("NoRetry not sent")
		}
		if rec.Header().Get("Content-Type") != "application/json" {
			t.Errorf("content type %q", rec.Header().Get("Content-Type"))
		}
	}
}

func TestDefaultOpenAITypes(t *testing.T) {
	for status, want := range map[int]string{400: "invalid_request_error", 401: "authentication_error", 403: "permission_error", 404: "not_found_error", 413: "invalid_request_error", 429: "rate_limit_error", 502: "server_error"} {
		var body struct {
			Error struct{ Type string } `json:"error"`
		}
		if err := json.Unmarshal(New(status, "", "x").Body(false), &body); err != nil {
			t.Fatal(err)
		}
		if body.Error.Type != want {
			t.Errorf("%d: type %q, want %q", status, body.Error.Type, want)
		}
	}
}

func TestSSE(t *testing.T) {
	e := &Error{Status: http.StatusForbidden, Code: "content_blocked", Message: "blocked"}
	if got, want := string(e.SSE(false)), `data: {"error":{"message":"blocked","type":"permission_error","param":null,"code":"content_blocked"}}`+"\n\n"; got != want {
		t.Errorf("openai sse = %q\nwant %q", got, want)
	}
	if got, want := string(e.SSE(true)), "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"permission_error\",\"message\":\"blocked\"}}\n\n"; got != want {
		t.Errorf("anthropic sse = %q\nwant %q", got, want)
	}
}

func TestHeadersCopied(t *testing.T) {
	rec := httptest.NewRecorder()
	rec.Header().Set("Content-Encoding", "gzip")
	Write(rec, false, &Error{Status: 401, Message: "no key", Header: http.Header{"Www-Authenticate": {`Bearer realm="llm"`}}})
	if rec.Header().Get("WWW-Authenticate") != `Bearer realm="llm"` || rec.Header().Get("Content-Encoding") != "" {
		t.Errorf("headers = %v", rec.Header())
	}
}

func TestRetryHeader(t *testing.T) {
	rec := httptest.NewRecorder()
	Write(rec, false, &Error{Status: http.StatusBadGateway, Message: "m", Retry: true})
	if got := rec.Header().Get("x-should-retry"); got != "true" {
		t.Errorf("x-should-retry = %q, want true", got)
	}
}
