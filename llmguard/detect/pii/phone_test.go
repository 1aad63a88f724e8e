package pii

import (
	"strings"
	"testing"
)

// phones returns the PHONE_NUMBER spans the default detector finds in text.
func phones(text string) []string {
	var got []string
	for _, f := range New().Detect(text, nil) {
		if f.Type == Phone {
			got = append(got, text[f.Start:f.End]+" ("+f.Rule+")")
		}
	}
	return got
}

func TestPhoneFormats(t *testing.T) {
	for _, c := range []struct{ text, want, rule string }{
		// E.164 and the 00 international call prefix.
		{"call +44 20 7946 0958 now", "+44 20 7946 0958", "phone_e164"},
		{"+44 (0) 20 7946 0958", "+44 (0) 20 7946 0958", "phone_e164"},
		{"+49 (0)30 1234567", "+49 (0)30 1234567", "phone_e164"},
		{"+91 98765 43210", "+91 98765 43210", "phone_e164"},
		{"+55 11 98456 5666", "+55 11 98456 5666", "phone_e164"},
		{"tel 0044 20 7946 0958", "0044 20 7946 0958", "phone_intl"},
		{"0049 30 1234567", "0049 30 1234567", "phone_intl"},
		{"00 44 20 7946 0958", "00 44 20 7946 0958", "phone_intl"},
		{"0044 (0) 20 7946 0958", "0044 (0) 20 7946 0958", "phone_intl"},
		{"0041-44-668-18-00", "0041-44-668-18-00", "phone_intl"},
		// NANP.
		{"(415) 555-0132", "(415) 555-0132", "phone_nanp"},
		{"1 415 555 0132", "1 415 555 0132", "phone_nanp"},
		{"415.555.0132", "415.555.0132", "phone_nanp"},
		// Trunk-prefixed national numbers.
		{"UK 020 7946 0958.", "020 7946 0958", "phone_national"},
		{"mobile 07700 900123", "07700 900123", "phone_national"},
		{"office (020) 7946 0958", "(020) 7946 0958", "phone_national"},
		{"Berlin 030 12345678", "030 12345678", "phone_national"},
		{"0171 1234567", "0171 1234567", "phone_national"},
		{"030/1234567", "030/1234567", "phone_national"},
		{"030 / 1234567", "030 / 1234567", "phone_national"},
		{"0171 - 1234567", "0171 - 1234567", "phone_national"},
		{"089 123456-78", "089 123456-78", "phone_national"},
		{"(030 1234567)", "030 1234567", "phone_national"},
		{"Paris 01 42 68 53 00", "01 42 68 53 00", "phone_national"},
		{"06.12.34.56.78", "06.12.34.56.78", "phone_national"},
		{"06-12-34-56-78", "06-12-34-56-78", "phone_national"},
		{"Amsterdam 020-1234567", "020-1234567", "phone_national"},
		{"06-12345678", "06-12345678", "phone_national"},
		{"Roma 06 678 4343", "06 678 4343", "phone_national"},
		{"Tokyo 03-1234-5678", "03-1234-5678", "phone_national"},
		{"090-1234-5678", "090-1234-5678", "phone_national"},
		{"0120-123-456", "0120-123-456", "phone_national"},
		{"Sydney 02 9876 5432", "02 9876 5432", "phone_national"},
		{"0412 345 678", "0412 345 678", "phone_national"},
		{"Zürich 044 668 18 00", "044 668 18 00", "phone_national"},
		{"(011) 91234-5678", "(011) 91234-5678", "phone_national"},
		{"09-7625400", "09-7625400", "phone_national"},
		// Layouts without a trunk prefix.
		{"cell 347 123 4567", "347 123 4567", "phone_it_mobile"},
		{"333 1234567", "333 1234567", "phone_it_mobile"},
		{"347/1234567", "347/1234567", "phone_it_mobile"},
		{"347 123 45 67", "347 123 45 67", "phone_it_mobile"},
		{"móvil 612 34 56 78", "612 34 56 78", "phone_es"},
		{"612 345 678", "612 345 678", "phone_es"},
		{"Madrid 91 123 45 67", "91 123 45 67", "phone_es"},
		{"912-34-56-78", "912-34-56-78", "phone_es"},
		{"98765 43210", "98765 43210", "phone_in_mobile"},
		{"98765-43210", "98765-43210", "phone_in_mobile"},
		{"São Paulo (11) 91234-5678", "(11) 91234-5678", "phone_br"},
		{"(11) 3456-7890", "(11) 3456-7890", "phone_br"},
		{"11 91234-5678", "11 91234-5678", "phone_br"},
		{"13812345678", "13812345678", "phone_cn_mobile"},
		{"138 1234 5678", "138 1234 5678", "phone_cn_mobile"},
		{"1300 123 456", "1300 123 456", "phone_au"},
		// A phone label allows looser layouts.
		{"Tel: 1234567", "1234567", "phone_labelled"},
		{"phone: 555-1234", "555-1234", "phone_labelled"},
		{"Tel.: 0301234567", "0301234567", "phone_labelled"},
		{"Tel.-Nr.: 9876543210", "9876543210", "phone_labelled"},
		{"Telefon: 12 34 56 78", "12 34 56 78", "phone_labelled"},
		{"Telefonnummer: 1234 5678", "1234 5678", "phone_labelled"},
		{"Handy: 1512 3456789", "1512 3456789", "phone_labelled"},
		{"Fax: 22 33 44 55", "22 33 44 55", "phone_labelled"},
		{"mobile:0612345678", "0612345678", "phone_labelled"},
		{`{"phone_number": "0612345678"}`, "0612345678", "phone_labelled"},
		{`{"phoneNumber":"5551234567"}`, "5551234567", "phone_labelled"},
		{"tel:0612345678", "0612345678", "phone_labelled"},
		{"fax = 212 4567", "212 4567", "phone_labelled"},
		// Two numbers in one digit run or list.
		{"Tel 030 1234567 / 030 7654321", "030 1234567|030 7654321", "phone_national"},
		{"030 1234567, 040 7654321", "030 1234567|040 7654321", "phone_national"},
		{"0044 20 7946 0958 or 0044 20 7946 0959", "0044 20 7946 0958|0044 20 7946 0959", "phone_intl"},
	} {
		got := phones(c.text)
		want := strings.Split(c.want, "|")
		ok := len(got) == len(want)
		for i := 0; ok && i < len(got); i++ {
			ok = got[i] == want[i]+" ("+c.rule+")"
		}
		if !ok {
			t.Errorf("%q: got %q, want %q (%s)", c.text, got, want, c.rule)
		}
	}
}

func TestPhoneNegatives(t *testing.T) {
	for _, text := range []string{
		// Dates and times.
		"date 01.02.2023 10:30", "on 01.02.2023 10 people", "2023-01-15 10:30", "15/01/2023",
		"01.02.2023 - 05.02.2023", "12.03.2024 10:30 Uhr", "call 12:34:56", "Fax: 12.03.2024",
		"from 01/02/2023 to 03/04/2023", "Tel: 2023-01-15",
		// Versions, IPs, ISBNs.
		"version 0.9.12 1234", "version 3.12.0 1234567", "ISBN 978-3-16-148410-0", "ISBN 0-306-40615-2",
		"ISBN 0306406152", "ISBN 84-376-0494-X", "ip 10.0.0.1 and 192.168.100.200", "Tel: 192.168.1.1",
		"010.001.002.003",
		// Amounts, ids, card-like numbers.
		"total 1.234.567,89 EUR", "EUR 1 234 567,89", "+12.345.678", "$612 345 678", "612 345 678 EUR",
		"612 345 678 €", "612.345.678", "0.5 1234 5678", "0 12 345 6789", "order 0123456789",
		"order #0012345678", "tracking 00340434161234567890", "id 2024-117-0042", "0123 4567 8901 2345",
		"4111 1111 1111 1112", "SKU A347 123 4567", "ref-612 34 56 78", "2024 0123 4567",
		"id 1234567890", "98765 43210 12345", "0171 1234567 8901", "1 234 567 890",
		// Bare digits and labels that are not phone labels, or not right before the number.
		"Tel. 1234567", "Telefon 12345678", "phone number is 5551234", "iPhone: 1234567",
		"Telegram: 1234567", "population: 12345678", "Tel: 123456",
	} {
		if got := phones(text); len(got) != 0 {
			t.Errorf("%q: unexpected %q", text, got)
		}
	}
}

// TestIBANDigitsNotNumbers: the digit groups of a valid grouped IBAN are not also reported
// as a card or a phone number (they used to be, e.g. "0532 0130 00" as a French-style
// national number), while numbers next to the IBAN still are.
func TestIBANDigitsNotNumbers(t *testing.T) {
	for _, c := range []struct {
		text  string
		types []string
	}{
		{"IBAN DE89 3704 0044 0532 0130 00", []string{IBAN}},
		{"PL61 1090 1014 0000 0712 1981 2874", []string{IBAN}},
		{"NL91 ABNA 0417 1643 00, Tel. 020 7946 0958", []string{IBAN, Phone}},
		{"DE89 3704 0044 0532 0130 00 4111 1111 1111 1111", []string{IBAN, CreditCard}},
	} {
		var got []string
		for _, f := range New().Detect(c.text, nil) {
			got = append(got, f.Type)
		}
		if strings.Join(got, ",") != strings.Join(c.types, ",") {
			t.Errorf("%q: got %v, want %v", c.text, got, c.types)
		}
	}
}
