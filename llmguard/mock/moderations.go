package mock

import (
	"encoding/json"
	"net/http"
	"strings"
	"unicode"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
)

// moderationCategories are the categories of OpenAI's moderation schema
// (omni-moderation-latest); every result names all of them.
var moderationCategories = []string{
	"harassment", "harassment/threatening", "hate", "hate/threatening", "illicit", "illicit/violent",
	"self-harm", "self-harm/instructions", "self-harm/intent", "sexual", "sexual/minors", "violence", "violence/graphic",
}

// triggerWords make the stand-in classifier flag a category: a demo and test aid for
// llm_filter's moderate (and llm_inspect's remote), not a moderation model. Words match
// whole, case-insensitively.
var triggerWords = map[string]string{
	"kill": "violence", "murder": "violence", "stab": "violence",
	"bomb": "illicit/violent", "explosive": "illicit/violent", "detonator": "illicit/violent",
	"suicide": "self-harm", "self-harm": "self-harm",
	"malware": "illicit", "ransomware": "illicit",
}

// moderations answers POST /v1/moderations in OpenAI's format with the stand-in
// classifier: each input gets a result whose flagged categories are those of the
// trigger words it contains (score 0.99; other categories 0.0001).
func (s *Server) moderations(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		apierr.Write(w, false, &apierr.Error{Status: http.StatusMethodNotAllowed, Code: "method_not_allowed",
			Header: http.Header{"Allow": {http.MethodPost}}, Message: "Use POST for /v1/moderations."})
		return
	}
	body, e := s.readBody(r)
	if e != nil {
		apierr.Write(w, false, e)
		return
	}
	var req struct {
		Model string          `json:"model"`
		Input json.RawMessage `json:"input"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		apierr.Write(w, false, apierr.BadRequest("", "", "the request body is not a JSON object"))
		return
	}
	inputs, ok := moderationInputs(req.Input)
	if !ok {
		apierr.Write(w, false, apierr.BadRequest("input", "", "input must be a string, an array of strings, or an array of text parts"))
		return
	}
	if req.Model == "" {
		req.Model = "omni-moderation-latest"
	}
	results := make([]map[string]any, len(inputs))
	for i, text := range inputs {
		hit := standInClassify(text)
		cats, scores := make(map[string]bool, len(moderationCategories)), make(map[string]float64, len(moderationCategories))
		for _, c := range moderationCategories {
			cats[c], scores[c] = hit[c], 0.0001
			if hit[c] {
				scores[c] = 0.99
			}
		}
		results[i] = map[string]any{"flagged": len(hit) > 0, "categories": cats, "category_scores": scores}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{"id": "modr-" + s.cfg.NewID(), "model": req.Model, "results": results})
}

// moderationInputs reads input: a string, an array of strings, or an array of parts of
// which the text parts are classified (image parts are ignored by the stand-in).
func moderationInputs(raw json.RawMessage) ([]string, bool) {
	var one string
	if json.Unmarshal(raw, &one) == nil {
		return []string{one}, true
	}
	var many []string
	if json.Unmarshal(raw, &many) == nil && len(many) > 0 {
		return many, true
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) != nil || len(parts) == 0 {
		return nil, false
	}
	var text []string
	for _, p := range parts {
		if p.Type == "text" {
			text = append(text, p.Text)
		}
	}
	return []string{strings.Join(text, "\n")}, true
}

// standInClassify returns the categories whose trigger words text contains.
func standInClassify(text string) map[string]bool {
	hit := map[string]bool{}
	words := strings.FieldsFunc(strings.ToLower(text), func(r rune) bool { return !unicode.IsLetter(r) && r != '-' })
	for _, w := range words {
		if c, ok := triggerWords[strings.Trim(w, "-")]; ok {
			hit[c] = true
		}
	}
	return hit
}
