package tokenizer

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// Suggest returns up to n whole words that are single tokens and close to
// word (by edit distance, then prefix), for when a subject's base word
// splits into several tokens.
func (t *Tokenizer) Suggest(word string, n int) []string {
	word = strings.ToLower(strings.TrimSpace(word))
	type cand struct {
		w    string
		dist int
	}
	var cands []cand
	for tok := range t.vocab {
		w, ok := strings.CutSuffix(tok, "</w>")
		if !ok || utf8.RuneCountInString(w) < 2 || w == word || !isWordLike(w) {
			continue
		}
		if d := editDistance(word, w); d <= 2 || strings.HasPrefix(w, word) || strings.HasPrefix(word, w) && len(w) >= 3 {
			cands = append(cands, cand{w, d})
		}
	}
	slices.SortFunc(cands, func(a, b cand) int {
		if a.dist != b.dist {
			return a.dist - b.dist
		}
		return strings.Compare(a.w, b.w)
	})
	var out []string
	for _, c := range cands {
		if len(out) == n {
			break
		}
		out = append(out, c.w)
	}
	return out
}

func isWordLike(w string) bool {
	for _, r := range w {
		if !(r >= 'a' && r <= 'z') {
			return false
		}
	}
	return true
}

func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
