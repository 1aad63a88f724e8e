package llmauth

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestFilterModels(t *testing.T) {
	allow := func(id string) bool { return strings.HasPrefix(id, "claude-") }
	in := `{"data":[{"type":"model","id":"gpt-4o"},{"type":"model","id":"claude-a"},{"type":"model","id":"claude-b"}],"has_more":false,"first_id":"gpt-4o","last_id":"claude-b"}`
	out, err := FilterModels([]byte(in), allow)
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Data    []struct{ ID string }
		HasMore bool   `json:"has_more"`
		FirstID string `json:"first_id"`
		LastID  string `json:"last_id"`
	}
	json.Unmarshal(out, &got)
	if len(got.Data) != 2 || got.FirstID != "claude-a" || got.LastID != "claude-b" {
		t.Fatalf("%s", out)
	}
	out, _ = FilterModels([]byte(in), func(string) bool { return false })
	if !strings.Contains(string(out), `"first_id":null`) || !strings.Contains(string(out), `"data":[]`) {
		t.Fatalf("%s", out)
	}
	for _, bad := range []string{``, `[]`, `{"data":5}`, `{"object":"list"}`, `{"data":[1]}`,
		// A repeated id: the gateway and the client could each read a different model.
		`{"data":[{"id":"claude-a","id":"gpt-4o"}]}`, `{"data":[],"data":[{"id":"gpt-4o"}]}`} {
		if _, err := FilterModels([]byte(bad), allow); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

func FuzzFilterModels(f *testing.F) {
	f.Add(`{"object":"list","data":[{"id":"gpt-4o"},{"id":"x"}]}`)
	f.Add(`{"data":[{"id":"claude-a"}],"first_id":"a","last_id":"b"}`)
	f.Fuzz(func(t *testing.T, in string) {
		out, err := FilterModels([]byte(in), func(id string) bool { return strings.HasPrefix(id, "gpt") })
		if err != nil {
			return
		}
		var v struct {
			Data []struct {
				ID string `json:"id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(out, &v); err != nil {
			t.Fatalf("output is not JSON: %v", err)
		}
		for _, d := range v.Data {
			if !strings.HasPrefix(d.ID, "gpt") {
				t.Fatalf("disallowed model %q kept", d.ID)
			}
		}
	})
}
