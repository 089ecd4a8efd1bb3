package tokenizer

import (
	"slices"
	"testing"
)

// Expected values are what Python 3 gives for
// html.unescape(html.unescape(s)), re.sub(r"\s+", " ", ...).strip(), .lower().
func TestCleanTextMatchesPython(t *testing.T) {
	cases := []struct{ in, want string }{
		{"  A \t B\n\nC  ", "a b c"},
		{"&amp;amp; &lt;b&gt;", "& <b>"},
		{"&#65;&#x42;&#X43", "abc"}, // decimal, hex, no semicolon
		{"a&#1;b&#xFFFE;c", "abc"},  // Python drops invalid code points
		{"&#0;&#xD800;&#x110000;", "\ufffd\ufffd\ufffd"},
		{"&#128;&#150;", "€–"},                // Windows-1252 fix-ups
		{"&#99999999999999999999;", "\ufffd"}, // too large for any integer type
		{"&ampx &notit; &bogus;", "&x ¬it; &bogus;"},
		{"\u3000wide\u00a0space\u001fsep\u001f", "wide space\u001fsep"}, // U+001F: stripped, not collapsed
		{"İSTANBUL", "i\u0307stanbul"},
		{"ΟΔΟΣ ΣΑΣ Σ", "οδος σας σ"}, // final sigma only after a cased letter at word end
		{"ΣΑ.Σ'", "σα.ς'"},           // case-ignorables are skipped both ways
		{"&", "&"}, {"&#", "&#"}, {"&#x;", "&#x;"},
	}
	for _, c := range cases {
		if got := cleanText(c.in); got != c.want {
			t.Errorf("cleanText(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestPreTokenize(t *testing.T) {
	specials := []string{"<|startoftext|>", "<|endoftext|>"}
	cases := []struct {
		in   string
		want []string
	}{
		{"it's they're", []string{"it", "'s", "they", "'re"}},
		{"'st", []string{"'s", "t"}},
		{"!'s", []string{"!'", "s"}}, // a punctuation run swallows the quote
		{"x<|endoftext|>y", []string{"x", "<|endoftext|>", "y"}},
		{"!<|endoftext|>", []string{"!<|", "endoftext", "|>"}}, // as Python's findall
		{"a12 3.5", []string{"a", "1", "2", "3", ".", "5"}},
		{"e\u0301t", []string{"e", "\u0301", "t"}}, // a combining mark is not a letter
		{"猫が", []string{"猫が"}},
	}
	for _, c := range cases {
		if got := preTokenize(c.in, specials); !slices.Equal(got, c.want) {
			t.Errorf("preTokenize(%q) = %q, want %q", c.in, got, c.want)
		}
	}
}

func TestByteEncoderIsBijective(t *testing.T) {
	seen := map[string]bool{}
	for b := range 256 {
		s := byteEncoder[b]
		if seen[s] {
			t.Fatalf("byte %d maps to %q twice", b, s)
		}
		seen[s] = true
	}
	if byteEncoder[' '] != "Ġ" || byteEncoder['a'] != "a" || byteEncoder[0] != "Ā" {
		t.Fatalf("space/a/NUL map to %q %q %q", byteEncoder[' '], byteEncoder['a'], byteEncoder[0])
	}
}
