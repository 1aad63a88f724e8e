package mock

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"

	"github.com/llmguard/caddy-llmguard/llmguard/apierr"
	"github.com/llmguard/caddy-llmguard/llmguard/request"
)

// OpenAI embeddings (openai-embeddings-*.json fixtures).

type embeddingList struct {
	Object string      `json:"object"`
	Data   []embedding `json:"data"`
	Model  string      `json:"model"`
	Usage  *struct {
		PromptTokens int64 `json:"prompt_tokens"`
		TotalTokens  int64 `json:"total_tokens"`
	} `json:"usage,omitempty"`
}

type embedding struct {
	Object    string `json:"object"`
	Index     int    `json:"index"`
	Embedding any    `json:"embedding"` // []float32, or a base64 string
}

// embeddingOptions are the fields package request does not read.
type embeddingOptions struct {
	Dimensions     json.RawMessage `json:"dimensions"`
	EncodingFormat json.RawMessage `json:"encoding_format"`
}

func (c *call) embeddings(body []byte) {
	dims, base64Format, e := c.embeddingOptions(body)
	if e != nil {
		apierr.Write(c.w, false, e)
		return
	}
	inputs := embeddingInputs(c.req)
	if int64(len(inputs))*int64(dims)*4 > maxOutputBytes {
		apierr.Write(c.w, false, apierr.BadRequest("dimensions", "", "llm_mock will not generate more than "+strconv.Itoa(maxOutputBytes)+" bytes of vectors for one request"))
		return
	}
	out := embeddingList{Object: "list", Data: make([]embedding, len(inputs)), Model: c.req.Model}
	for i, in := range inputs {
		v := vector(in, dims)
		out.Data[i] = embedding{Object: "embedding", Index: i, Embedding: v}
		if base64Format {
			out.Data[i].Embedding = encodeBase64(v)
		}
	}
	if c.usage {
		p := c.promptTokens()
		out.Usage = &struct {
			PromptTokens int64 `json:"prompt_tokens"`
			TotalTokens  int64 `json:"total_tokens"`
		}{p, p}
	}
	writeJSON(c.w, out)
}

// embeddingOptions reads dimensions (1..MaxEmbeddingDimensions, default from the config)
// and encoding_format ("float" or "base64").
func (c *call) embeddingOptions(body []byte) (dims int, b64 bool, _ *apierr.Error) {
	var o embeddingOptions
	if err := json.Unmarshal(body, &o); err != nil { // request.Parse accepted it as an object
		return 0, false, apierr.BadRequest("", "", "the request body is not a valid JSON object")
	}
	dims = c.s.cfg.EmbeddingDimensions
	if len(o.Dimensions) > 0 && string(o.Dimensions) != "null" {
		var d int
		if err := json.Unmarshal(o.Dimensions, &d); err != nil || d < 1 || d > MaxEmbeddingDimensions {
			return 0, false, apierr.BadRequest("dimensions", "", "dimensions must be an integer from 1 to "+strconv.Itoa(MaxEmbeddingDimensions))
		}
		dims = d
	}
	if len(o.EncodingFormat) > 0 && string(o.EncodingFormat) != "null" {
		var f string
		if err := json.Unmarshal(o.EncodingFormat, &f); err != nil || (f != "float" && f != "base64") {
			return 0, false, apierr.BadRequest("encoding_format", "", "encoding_format must be \"float\" or \"base64\"")
		}
		b64 = f == "base64"
	}
	return dims, b64, nil
}

// embeddingInputs returns one seed string per input. Pre-tokenised inputs have no text
// in the parsed request, so their seed is their position.
func embeddingInputs(r *request.Request) []string {
	inputs := make([]string, r.Messages)
	for i := range inputs {
		inputs[i] = "\x00input " + strconv.Itoa(i)
	}
	for _, s := range r.Segments {
		if s.Message >= 0 && s.Message < len(inputs) {
			inputs[s.Message] = s.Text
		}
	}
	return inputs
}

// vector derives a unit-length vector from text, so that equal inputs get equal
// embeddings across requests and processes (tests compare them) while different inputs
// differ. It is not semantic: similar texts are not close.
func vector(text string, dims int) []float32 {
	seed := sha256.Sum256([]byte(text))
	rng := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:16])))
	v := make([]float32, dims)
	var norm float64
	for i := range v {
		x := rng.Float64()*2 - 1
		v[i] = float32(x)
		norm += x * x
	}
	norm = math.Sqrt(norm)
	if norm == 0 {
		return v
	}
	for i := range v {
		v[i] = float32(float64(v[i]) / norm)
	}
	return v
}

// encodeBase64 is OpenAI's base64 format: the float32 values, little-endian, back to
// back.
func encodeBase64(v []float32) string {
	b := make([]byte, 4*len(v))
	for i, f := range v {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(f))
	}
	return base64.StdEncoding.EncodeToString(b)
}
