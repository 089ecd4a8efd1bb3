package tokenizer

import (
	"fmt"
	"strings"
)

// MultiTokenError says that a word is not a single token, so OneActor cannot
// use it as a base word. Pieces are the BPE pieces it splits into.
type MultiTokenError struct {
	Word   string
	Pieces []string
}

func (e *MultiTokenError) Error() string {
	if len(e.Pieces) == 0 {
		return fmt.Sprintf("%q is not a word the tokenizer can use", e.Word)
	}
	shown := make([]string, len(e.Pieces))
	for i, p := range e.Pieces {
		shown[i] = strings.TrimSuffix(p, endOfWord)
	}
	return fmt.Sprintf("%q is not a single token: the tokenizer splits it into %d pieces (%s)",
		e.Word, len(e.Pieces), strings.Join(shown, " + "))
}

// WordID returns the id of word when it is exactly one token (after the same
// clean-up as prompts: "Creature" and " creature " are "creature"), and a
// *MultiTokenError otherwise.
func (t *Tokenizer) WordID(word string) (int, error) {
	w, err := t.singleWord(word)
	if err != nil {
		return 0, err
	}
	toks, _, err := t.tokenize(w)
	if err != nil {
		return 0, err
	}
	return toks[0].id, nil
}

// singleWord returns word's only pre-token, or a *MultiTokenError when the
// word is empty, several words, or splits into several BPE pieces.
func (t *Tokenizer) singleWord(word string) (string, error) {
	words := preTokenize(cleanText(word), t.specials)
	if len(words) != 1 {
		return "", &MultiTokenError{Word: word, Pieces: t.Pieces(word)}
	}
	if pieces := t.wordPieces(words[0]); len(pieces) != 1 {
		return "", &MultiTokenError{Word: word, Pieces: pieces}
	}
	return words[0], nil
}

// WordPositions returns the positions, in the Encode sequence (so BOS is
// position 0), of every occurrence of word in text; OneActor adds its offset
// to the text-encoder rows at these positions. word must be one token
// (*MultiTokenError otherwise). Matching is by word, not by id: "hat" is not
// found inside "chat" even if BPE spells "chat" as "c" + "hat</w>".
// Occurrences cut off by truncation are not returned; an empty result means
// the word does not occur in the encoded prompt.
func (t *Tokenizer) WordPositions(text, word string) ([]int, error) {
	w, err := t.singleWord(word)
	if err != nil {
		return nil, err
	}
	toks, words, err := t.tokenize(text)
	if err != nil {
		return nil, err
	}
	var pos []int
	for k, tk := range toks[:min(len(toks), t.maxLen-2)] {
		if words[tk.word] == w {
			pos = append(pos, k+1)
		}
	}
	return pos, nil
}
