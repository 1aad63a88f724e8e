// Package benchtext builds the inputs of the detector benchmarks, so that the per-package
// benchmarks and the default set's measure the same text.
package benchtext

import "strings"

// Corpus returns n bytes of mixed prompt-like text: prose (English and German), code with
// assignments, numbers, an e-mail address and an IP now and then, so every scanner path
// is exercised.
func Corpus(n int) string {
	parts := []string{
		"Please summarise the following meeting notes and list the action items for the team. ",
		"Bitte fasse die folgenden Notizen zusammen und nenne die nächsten Schritte für das Team. ",
		"Contact jane.doe@example.com or call +1 415 555 0132 about invoice 2024-117. ",
		"config: timeout = 30; retries: 5; host = \"10.0.0.12\"; user_name = \"svc-report\"\n",
		"func add(a, b int) int { return a + b } // ignore the linter warning here\n",
		"The quarterly revenue grew by 12.5% to EUR 1,204,000 according to the report. ",
	}
	var b strings.Builder
	for i := 0; b.Len() < n; i++ {
		b.WriteString(parts[i%len(parts)])
	}
	return b.String()[:n]
}

// Repeat returns unit repeated to exactly n bytes (the last copy cut short).
func Repeat(unit string, n int) string {
	return strings.Repeat(unit, n/len(unit)+1)[:n]
}
