package tokenizer

// byteEncoder maps every byte to a printable rune, as GPT-2/CLIP's
// bytes_to_unicode does: printable Latin-1 bytes map to themselves, the rest
// to U+0100 onwards in byte order. BPE then works on these runes, so any
// UTF-8 input (emoji, CJK) has a spelling in the 256 base symbols.
var byteEncoder = func() [256]string {
	var keep [256]bool
	for b := '!'; b <= '~'; b++ {
		keep[b] = true
	}
	for b := '¡'; b <= '¬'; b++ {
		keep[b] = true
	}
	for b := '®'; b <= 'ÿ'; b++ {
		keep[b] = true
	}
	var enc [256]string
	n := 0
	for b := range 256 {
		if keep[b] {
			enc[b] = string(rune(b))
		} else {
			enc[b] = string(rune(256 + n))
			n++
		}
	}
	return enc
}()

// byteEncode spells the UTF-8 bytes of s as byte-encoder symbols, one string
// per byte.
func byteEncode(s string) []string {
	out := make([]string, len(s))
	for i := 0; i < len(s); i++ {
		out[i] = byteEncoder[s[i]]
	}
	return out
}
