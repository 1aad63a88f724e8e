package filter

import (
	"hash/maphash"
	"strings"

	"github.com/llmguard/caddy-llmguard/llmguard/detect"
)

// TypeSystemPromptLeak is the finding type of a system prompt (or its canary) repeated in
// a reply.
const TypeSystemPromptLeak = "SYSTEM_PROMPT_LEAK"

// verbatim finds runs of a request's system prompt repeated word for word in a reply.
type verbatim struct {
	system string
	min    int              // shortest run reported
	gram   int              // indexed gram length, min/2
	index  map[uint64]int32 // hash of a gram starting at a multiple of gram → its offset
	seed   maphash.Seed
}

// NewVerbatim returns a detector of runs of at least minRun bytes of system in a text, or
// nil when system is shorter than that. It indexes every (minRun/2)-byte gram of system
// starting at a multiple of minRun/2 — any run of minRun bytes contains one of them — so
// its memory is a few bytes per minRun/2 bytes of system prompt.
func NewVerbatim(system string, minRun int) detect.Detector {
	if minRun < 2 || len(system) < minRun {
		return nil
	}
	v := &verbatim{system: system, min: minRun, gram: minRun / 2, index: map[uint64]int32{}, seed: maphash.MakeSeed()}
	for j := 0; j+v.gram <= len(system); j += v.gram {
		h := maphash.String(v.seed, system[j:j+v.gram])
		if _, dup := v.index[h]; !dup {
			v.index[h] = int32(j)
		}
	}
	return v
}

func (v *verbatim) Name() string { return "system_prompt" }

// HoldFrom implements Holder: the longest suffix of text that occurs in the system prompt
// could still grow into a reported run. Containment is monotone in the suffix length,
// so a binary search finds it.
func (v *verbatim) HoldFrom(text string) int {
	lo, hi := 0, min(len(text), len(v.system))
	for lo < hi {
		m := (lo + hi + 1) / 2
		if strings.Contains(v.system, text[len(text)-m:]) {
			lo = m
		} else {
			hi = m - 1
		}
	}
	return len(text) - lo
}

func (v *verbatim) Detect(text string, dst []detect.Finding) []detect.Finding {
	for i := 0; i+v.gram <= len(text); i++ {
		j, ok := v.index[maphash.String(v.seed, text[i:i+v.gram])]
		if !ok || text[i:i+v.gram] != v.system[int(j):int(j)+v.gram] {
			continue
		}
		start, sj, end, ej := i, int(j), i+v.gram, int(j)+v.gram
		for start > 0 && sj > 0 && text[start-1] == v.system[sj-1] {
			start, sj = start-1, sj-1
		}
		for end < len(text) && ej < len(v.system) && text[end] == v.system[ej] {
			end, ej = end+1, ej+1
		}
		if end-start >= v.min {
			dst = append(dst, detect.Finding{Detector: "system_prompt", Type: TypeSystemPromptLeak, Start: start, End: end, Score: 1})
			i = end - 1
		}
	}
	return dst
}
