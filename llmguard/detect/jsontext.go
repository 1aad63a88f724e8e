package detect

// FitJSONText adjusts f, found in JSON text such as a tool call's arguments, so that it
// neither starts nor ends inside an escape sequence: detectors read the raw text, so an
// address right after "\n" is found as "nalice@…", and replacing that span would leave a
// lone backslash and break the JSON. The start moves past an escape it falls into, the end
// back to the start of an escape it would cut. ok is false when nothing is left.
func FitJSONText(text string, f Finding) (Finding, bool) {
	s, e := f.Start, f.End
	// Inside an escape at the start: the byte after an odd run of backslashes, or one of
	// the four hex digits of a \u escape.
	for d := 0; d <= 4 && s-d-1 >= 0; d++ {
		if !escapeStartsAt(text, s-d-1) {
			continue
		}
		n := escapeLen(text, s-d-1)
		if s-d-1+n > s {
			s = s - d - 1 + n
		}
		break
	}
	for i := s; i < e; {
		if text[i] != '\\' {
			i++
			continue
		}
		n := escapeLen(text, i)
		if i+n > e {
			e = i
			break
		}
		i += n
	}
	if s >= e {
		return f, false
	}
	f.Start, f.End = s, e
	return f, true
}

// escapeStartsAt reports whether text[i] is a backslash that starts an escape, i.e. is
// preceded by an even number of backslashes.
func escapeStartsAt(text string, i int) bool {
	if text[i] != '\\' {
		return false
	}
	k := 0
	for j := i - 1; j >= 0 && text[j] == '\\'; j-- {
		k++
	}
	return k%2 == 0
}

// escapeLen is the length of the escape starting at text[i] == '\\': 6 for \uXXXX, else 2.
func escapeLen(text string, i int) int {
	if i+1 < len(text) && text[i+1] == 'u' {
		return 6
	}
	return 2
}

// FitJSONTextAll applies FitJSONText to every finding of fs in place, dropping those with
// nothing left.
func FitJSONTextAll(text string, fs []Finding) []Finding {
	kept := fs[:0]
	for _, f := range fs {
		if g, ok := FitJSONText(text, f); ok {
			kept = append(kept, g)
		}
	}
	return kept
}
