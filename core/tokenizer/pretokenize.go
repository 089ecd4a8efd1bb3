package tokenizer

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// contractions are tried in the order of CLIP's pattern, so "'s" wins over a
// longer alternative at the same position, as Python's regex alternation does.
var contractions = []string{"'s", "'t", "'re", "'ve", "'m", "'ll", "'d"}

// preTokenize splits cleaned text like CLIP's pattern
//
//	<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+
//
// (re.findall: unmatched characters, i.e. whitespace, are skipped). A hand
// scanner instead of regexp because Go's \s is ASCII-only; the `regex`
// module's \s is Unicode White_Space, i.e. unicode.IsSpace. specials are the
// literal special-token strings checked first.
func preTokenize(text string, specials []string) []string {
	var out []string
	i := 0
	for i < len(text) {
		rest := text[i:]
		if tok := matchPrefix(rest, specials); tok != "" {
			out = append(out, tok)
			i += len(tok)
			continue
		}
		if tok := matchPrefix(rest, contractions); tok != "" {
			out = append(out, tok)
			i += len(tok)
			continue
		}
		r, size := utf8.DecodeRuneInString(rest)
		switch {
		case unicode.IsLetter(r):
			n := scan(rest, unicode.IsLetter)
			out = append(out, rest[:n])
			i += n
		case unicode.IsNumber(r):
			out = append(out, rest[:size])
			i += size
		case unicode.IsSpace(r):
			i += size
		default:
			n := scan(rest, func(r rune) bool {
				return !unicode.IsSpace(r) && !unicode.IsLetter(r) && !unicode.IsNumber(r)
			})
			out = append(out, rest[:n])
			i += n
		}
	}
	return out
}

func matchPrefix(s string, cands []string) string {
	for _, c := range cands {
		if strings.HasPrefix(s, c) {
			return c
		}
	}
	return ""
}

// scan returns the byte length of the longest prefix of s whose runes all
// satisfy ok.
func scan(s string, ok func(rune) bool) int {
	n := 0
	for n < len(s) {
		r, size := utf8.DecodeRuneInString(s[n:])
		if !ok(r) {
			break
		}
		n += size
	}
	return n
}
