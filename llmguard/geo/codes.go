package geo

import (
	"fmt"
	"strings"
)

// continents are the codes MaxMind databases use.
var continents = map[string]bool{"AF": true, "AN": true, "AS": true, "EU": true, "NA": true, "OC": true, "SA": true}

func isLetters(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func normCountry(s string) (string, bool) {
	s = strings.ToUpper(s)
	return s, len(s) == 2 && isLetters(s)
}

func normContinent(s string) (string, bool) {
	s = strings.ToUpper(s)
	return s, continents[s]
}

// ParseCountries validates a configured list of ISO 3166-1 alpha-2 country codes (any
// case) plus the word "unknown", and returns them normalised (upper case, Unknown as is).
// A list entry that is neither is an error naming it: a typo such as "GER" must not
// silently match nothing.
func ParseCountries(list []string) ([]string, error) {
	return parseCodes(list, "country", "a two-letter ISO 3166-1 code such as DE", normCountry)
}

// ParseContinents is ParseCountries for continent codes (AF AN AS EU NA OC SA).
func ParseContinents(list []string) ([]string, error) {
	return parseCodes(list, "continent", "one of AF AN AS EU NA OC SA", normContinent)
}

// maxCodes bounds one list (there are 249 country codes).
const maxCodes = 512

func parseCodes(list []string, what, want string, norm func(string) (string, bool)) ([]string, error) {
	if len(list) > maxCodes {
		return nil, fmt.Errorf("more than %d %s codes", maxCodes, what)
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if strings.EqualFold(s, Unknown) {
			out = append(out, Unknown)
			continue
		}
		c, ok := norm(s)
		if !ok {
			return nil, fmt.Errorf("%s %q is not %s, or %q", what, s, want, Unknown)
		}
		out = append(out, c)
	}
	return out, nil
}
