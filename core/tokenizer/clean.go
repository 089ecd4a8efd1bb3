package tokenizer

import (
	"html"
	"strconv"
	"strings"
	"unicode"
)

// cleanText applies the text clean-up of OpenAI CLIP's simple_tokenizer
// without ftfy (which has no Go port): HTML-unescape twice, strip, collapse
// whitespace runs to one space, strip, lower-case. Each step follows the
// Python semantics the reference tokenizer (and so the goldens) uses, not the
// nearest Go library call, because a single differing rune changes the ids.
func cleanText(s string) string {
	s = strings.TrimFunc(pyUnescape(pyUnescape(s)), isPySpace)
	s = strings.TrimFunc(collapseSpace(s), isPySpace)
	return pyLower(s)
}

// Python has two notions of whitespace here, and the reference uses both:
// str.strip() removes str.isspace() characters, which include the
// information separators U+001C..U+001F; the `regex` module's \s (used to
// collapse runs and by the pre-tokeniser) is Unicode White_Space, exactly
// Go's unicode.IsSpace, which excludes them.
func isPySpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}

// collapseSpace replaces every run of White_Space with one space.
func collapseSpace(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	inSpace := false
	for _, r := range s {
		if unicode.IsSpace(r) {
			if !inSpace {
				b.WriteByte(' ')
			}
			inSpace = true
			continue
		}
		inSpace = false
		b.WriteRune(r)
	}
	return b.String()
}

// pyUnescape is Python's html.unescape: one left-to-right pass over
// character references. Named references are resolved by the standard
// library (same WHATWG table and longest-prefix rule as Python); numeric ones
// are handled here because Python drops invalid code points (e.g. &#1;)
// where Go keeps them.
func pyUnescape(s string) string {
	if !strings.Contains(s, "&") {
		return s
	}
	var b strings.Builder
	b.Grow(len(s))
	for len(s) > 0 {
		amp := strings.IndexByte(s, '&')
		if amp < 0 {
			b.WriteString(s)
			break
		}
		b.WriteString(s[:amp])
		s = s[amp:]
		// The segment up to the next '&' holds at most one reference.
		end := strings.IndexByte(s[1:], '&')
		seg := s
		if end >= 0 {
			seg = s[:end+1]
		}
		s = s[len(seg):]
		if strings.HasPrefix(seg, "&#") {
			rep, n, ok := numericRef(seg)
			if ok {
				b.WriteString(rep)
				b.WriteString(seg[n:])
				continue
			}
			b.WriteString(seg)
			continue
		}
		b.WriteString(html.UnescapeString(seg))
	}
	return b.String()
}

// numericRef decodes a reference "&#123;" / "&#x7b;" (semicolon optional) at
// the start of seg as Python does. n is the number of bytes consumed.
func numericRef(seg string) (rep string, n int, ok bool) {
	i := 2
	base := 10
	if i < len(seg) && (seg[i] == 'x' || seg[i] == 'X') {
		base = 16
		i++
	}
	start := i
	for i < len(seg) && isDigit(seg[i], base) {
		i++
	}
	if i == start {
		return "", 0, false
	}
	digits := seg[start:i]
	if i < len(seg) && seg[i] == ';' {
		i++
	}
	num, err := strconv.ParseUint(digits, base, 64)
	if err != nil || num > 0x10FFFF {
		// Overflowing numbers are simply too large: Python yields U+FFFD.
		return "\uFFFD", i, true
	}
	if invalidCodepoint(num) {
		return "", i, true
	}
	// The standard library maps 0, 0x80..0x9F (Windows-1252) and surrogates
	// exactly like Python's _invalid_charrefs table.
	return html.UnescapeString("&#" + strconv.FormatUint(num, 10) + ";"), i, true
}

func isDigit(c byte, base int) bool {
	switch {
	case c >= '0' && c <= '9':
		return true
	case base == 16 && ((c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')):
		return true
	}
	return false
}

// invalidCodepoint mirrors Python's html._invalid_codepoints minus the
// 0x80..0x9F range, which _invalid_charrefs maps first.
func invalidCodepoint(n uint64) bool {
	switch {
	case n >= 0x1 && n <= 0x8, n == 0xb, n >= 0xe && n <= 0x1f, n == 0x7f:
		return true
	case n >= 0xfdd0 && n <= 0xfdef:
		return true
	case n&0xfffe == 0xfffe: // U+xFFFE and U+xFFFF in every plane
		return true
	}
	return false
}

// pyLower is Python's str.lower(): Unicode simple lower-case mapping plus the
// two context rules Python applies (İ → "i̇", and Σ → ς at the end of a
// word). Go's strings.ToLower maps İ to a plain "i" and never emits ς.
func pyLower(s string) string {
	rs := []rune(s)
	var b strings.Builder
	b.Grow(len(s))
	for i, r := range rs {
		switch r {
		case 'İ':
			b.WriteString("i\u0307")
		case 'Σ':
			if finalSigma(rs, i) {
				b.WriteRune('ς')
			} else {
				b.WriteRune('σ')
			}
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// finalSigma implements the Unicode Final_Sigma context as CPython does:
// a cased letter before (skipping case-ignorables) and none after.
func finalSigma(rs []rune, i int) bool {
	j := i - 1
	for j >= 0 && caseIgnorable(rs[j]) {
		j--
	}
	if j < 0 || !cased(rs[j]) {
		return false
	}
	j = i + 1
	for j < len(rs) && caseIgnorable(rs[j]) {
		j++
	}
	return j == len(rs) || !cased(rs[j])
}

func cased(r rune) bool {
	return unicode.IsUpper(r) || unicode.IsLower(r) || unicode.IsTitle(r) ||
		unicode.Is(unicode.Other_Lowercase, r) || unicode.Is(unicode.Other_Uppercase, r)
}

// caseIgnorable is Unicode's Case_Ignorable: Mn, Me, Cf, Lm, Sk and the
// Word_Break classes MidLetter, MidNumLet and Single_Quote (listed here
// because Go has no Word_Break tables).
func caseIgnorable(r rune) bool {
	if unicode.In(r, unicode.Mn, unicode.Me, unicode.Cf, unicode.Lm, unicode.Sk) {
		return true
	}
	switch r {
	case 0x27, 0x2e, 0x3a, 0xb7, 0x387, 0x55f, 0x5f4, 0x2018, 0x2019, 0x2024, 0x2027,
		0xfe13, 0xfe52, 0xfe55, 0xff07, 0xff0e, 0xff1a:
		return true
	}
	return false
}
