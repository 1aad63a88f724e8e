package pii

import "testing"

func TestEntities(t *testing.T) {
	d := New()
	for _, c := range []struct{ text, typ, value string }{
		{"Ruf mich an: 030 1234567", Phone, "030 1234567"},
		{"UK office 020 7123 4567.", Phone, "020 7123 4567"},
		{"Paris 01 42 68 53 00", Phone, "01 42 68 53 00"},
		{"IBAN DE89370400440532013000 bitte", IBAN, "DE89370400440532013000"},
		{"ssn 536-22-1234", SSN, "536-22-1234"},
		{"amex 3714 496353 98431", CreditCard, "3714 496353 98431"},
		{"write to o'brien@mail.example.org!", Email, "o'brien@mail.example.org"},
	} {
		var got []string
		for _, f := range d.Detect(c.text, nil) {
			if f.Type == c.typ {
				got = append(got, c.text[f.Start:f.End])
			}
		}
		if len(got) != 1 || got[0] != c.value {
			t.Errorf("%q: got %v, want %s %q", c.text, got, c.typ, c.value)
		}
	}
	for _, neg := range []string{
		"order 4111111111111112", "DE89370400440532013001", "ssn 900-12-3456", "date 2023-01-15 10:30",
		"version 1.2.3", "total 1,234,567.89", "call 12:34:56", "id 1234567890",
	} {
		if fs := d.Detect(neg, nil); len(fs) != 0 {
			t.Errorf("%q: unexpected %+v", neg, fs)
		}
	}
}
