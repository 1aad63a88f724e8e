package llmauth

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/auth"
	"github.com/llmguard/caddy-llmguard/llmguard/jsonspan"
	"github.com/llmguard/caddy-llmguard/modules/llmhttp"
)

// modelsWriter buffers a successful GET /v1/models response (bounded) so that it can be
// filtered to the models the caller may use. Anything but a 200 passes straight through.
type modelsWriter struct {
	http.ResponseWriter
	grant *auth.Grant
	max   int64

	status   int
	buf      bytes.Buffer
	overflow bool
}

func (m *modelsWriter) WriteHeader(code int) {
	if m.status != 0 {
		return
	}
	m.status = code
	if code != http.StatusOK {
		m.ResponseWriter.WriteHeader(code)
	}
}

func (m *modelsWriter) Write(p []byte) (int, error) {
	if m.status == 0 {
		m.WriteHeader(http.StatusOK)
	}
	if m.status != http.StatusOK {
		return m.ResponseWriter.Write(p)
	}
	if int64(m.buf.Len()+len(p)) > m.max {
		m.overflow = true
		return len(p), nil // keep draining the upstream; the reply is replaced in finish
	}
	return m.buf.Write(p)
}

// FlushError is a no-op while buffering: the list is sent whole once filtered.
func (m *modelsWriter) FlushError() error {
	if m.status != 0 && m.status != http.StatusOK {
		return http.NewResponseController(m.ResponseWriter).Flush()
	}
	return nil
}

// Unwrap lets http.ResponseController reach the underlying writer.
func (m *modelsWriter) Unwrap() http.ResponseWriter { return m.ResponseWriter }

// finish writes the filtered list, or a 502 when it cannot be filtered: an unfiltered list
// would disclose models the caller may not use.
func (m *modelsWriter) finish(r *http.Request) error {
	if m.status != http.StatusOK {
		return nil
	}
	bad := func(msg string) error {
		return llmhttp.Fail(m.ResponseWriter, r, &apierr.Error{Status: http.StatusBadGateway, Code: "models_list_unfilterable", Message: msg})
	}
	if m.overflow {
		return bad("The upstream model list is too large for the gateway to filter.")
	}
	if enc := m.Header().Get("Content-Encoding"); enc != "" && enc != "identity" {
		return bad("The upstream model list is compressed and cannot be filtered.")
	}
	out, err := FilterModels(m.buf.Bytes(), m.grant.AllowsModel)
	if err != nil {
		return bad("The upstream model list is not valid JSON.")
	}
	h := m.Header()
	h.Set("Content-Length", strconv.Itoa(len(out)))
	h.Del("ETag")
	m.ResponseWriter.WriteHeader(http.StatusOK)
	_, err = m.ResponseWriter.Write(out)
	return err
}

// FilterModels keeps the entries of a model list ({"data":[{"id":…},…], …}, the shape of
// both OpenAI's and Anthropic's list) whose id allow accepts. Other top-level fields are
// kept; Anthropic's first_id/last_id are recomputed for the filtered page.
func FilterModels(body []byte, allow func(string) bool) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := jsonspan.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	var data []json.RawMessage
	if err := json.Unmarshal(top["data"], &data); err != nil {
		return nil, err
	}
	kept := make([]json.RawMessage, 0, len(data))
	var ids []string
	for _, d := range data {
		var item struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(d, &item); err != nil {
			return nil, err
		}
		if item.ID != "" && allow(item.ID) {
			kept = append(kept, d)
			ids = append(ids, item.ID)
		}
	}
	top["data"], _ = json.Marshal(kept)
	for _, f := range []string{"first_id", "last_id"} {
		if _, ok := top[f]; !ok {
			continue
		}
		top[f] = json.RawMessage("null")
		if len(ids) > 0 {
			id := ids[0]
			if f == "last_id" {
				id = ids[len(ids)-1]
			}
			top[f], _ = json.Marshal(id)
		}
	}
	return json.Marshal(top)
}
