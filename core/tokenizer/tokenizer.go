// Package tokenizer is CLIP's byte-level BPE tokenizer, read from a model's
// tokenizer folder (vocab.json, merges.txt, tokenizer_config.json,
// special_tokens_map.json). It reproduces OpenAI CLIP's simple_tokenizer
// without ftfy, which is what Stable Diffusion text encoders were trained on,
// and adds what OneActor needs: where a subject word sits in a prompt.
package tokenizer

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
)

// DefaultMaxLength is the CLIP text encoder's context: BOS, 75 tokens, EOS.
const DefaultMaxLength = 77

// maxSupportedLength bounds lengths taken from config files.
const maxSupportedLength = 4096

// File names inside a tokenizer folder.
const (
	VocabFile         = "vocab.json"
	MergesFile        = "merges.txt"
	ConfigFile        = "tokenizer_config.json"
	SpecialTokensFile = "special_tokens_map.json"
)

// Tokenizer turns prompts into CLIP token ids. It is safe for concurrent
// use once built (SetMaxLength must happen before sharing it).
type Tokenizer struct {
	vocab    map[string]int
	bpe      *bpe
	bos      int
	eos      int
	pad      int
	unk      int // -1 when the vocabulary has no unk token
	specials []string
	maxLen   int
}

// Load reads a tokenizer folder from disk.
func Load(dir string) (*Tokenizer, error) {
	t, err := LoadFS(os.DirFS(dir), ".")
	if err != nil {
		return nil, fmt.Errorf("tokenizer %s: %w", dir, err)
	}
	return t, nil
}

// LoadFS reads a tokenizer folder from fsys (e.g. an embedded model).
// vocab.json and merges.txt are required; the two config files are optional.
func LoadFS(fsys fs.FS, dir string) (*Tokenizer, error) {
	read := func(name string, required bool) ([]byte, error) {
		b, err := fs.ReadFile(fsys, path.Join(dir, name))
		if err != nil {
			if !required && errors.Is(err, fs.ErrNotExist) {
				return nil, nil
			}
			return nil, fmt.Errorf("reading %s: %w", name, err)
		}
		return b, nil
	}
	var files [4][]byte
	for i, f := range []struct {
		name     string
		required bool
	}{{VocabFile, true}, {MergesFile, true}, {ConfigFile, false}, {SpecialTokensFile, false}} {
		b, err := read(f.name, f.required)
		if err != nil {
			return nil, err
		}
		files[i] = b
	}
	return New(files[0], files[1], files[2], files[3])
}

// New builds a tokenizer from file contents; config and specialMap may be nil.
func New(vocabJSON, merges, config, specialMap []byte) (*Tokenizer, error) {
	var vocab map[string]int
	if err := json.Unmarshal(vocabJSON, &vocab); err != nil {
		return nil, fmt.Errorf("parsing %s: %w", VocabFile, err)
	}
	if len(vocab) == 0 {
		return nil, fmt.Errorf("%s is empty", VocabFile)
	}
	ranks, err := parseMerges(merges)
	if err != nil {
		return nil, err
	}
	st, err := readSpecialTokens(config, specialMap)
	if err != nil {
		return nil, err
	}
	t := &Tokenizer{
		vocab:    vocab,
		bpe:      &bpe{ranks: ranks, cache: make(map[string][]string)},
		specials: []string{st.BOS, st.EOS},
		maxLen:   st.MaxLength,
		unk:      -1,
	}
	for _, x := range []struct {
		role, tok string
		dst       *int
	}{{"bos_token", st.BOS, &t.bos}, {"eos_token", st.EOS, &t.eos}, {"pad_token", st.Pad, &t.pad}} {
		id, ok := vocab[x.tok]
		if !ok {
			return nil, fmt.Errorf("%s %q is not in %s", x.role, x.tok, VocabFile)
		}
		*x.dst = id
	}
	if id, ok := vocab[st.Unk]; ok {
		t.unk = id
	}
	return t, nil
}

// SetMaxLength changes the encoded length (BOS + tokens + EOS + padding),
// e.g. to the text encoder's input length read from the model.
func (t *Tokenizer) SetMaxLength(n int) error {
	if n < 2 || n > maxSupportedLength {
		return fmt.Errorf("tokenizer max length %d out of range [2, %d]", n, maxSupportedLength)
	}
	t.maxLen = n
	return nil
}

// BOS, EOS and Pad are the special ids looked up in the vocabulary.
func (t *Tokenizer) BOS() int { return t.bos }
func (t *Tokenizer) EOS() int { return t.eos }
func (t *Tokenizer) Pad() int { return t.pad }

// MaxLength is the length of every Encode result.
func (t *Tokenizer) MaxLength() int { return t.maxLen }

// VocabSize is the number of entries in vocab.json.
func (t *Tokenizer) VocabSize() int { return len(t.vocab) }

// Encode returns exactly MaxLength ids: BOS, the prompt's tokens truncated to
// MaxLength-2, EOS, then padding with the configured pad token.
func (t *Tokenizer) Encode(text string) ([]int, error) {
	toks, _, err := t.tokenize(text)
	if err != nil {
		return nil, err
	}
	return t.frame(toks), nil
}

// Tokens returns the prompt's token ids without BOS/EOS, padding or
// truncation; len(Tokens) > MaxLength-2 means Encode will truncate.
func (t *Tokenizer) Tokens(text string) ([]int, error) {
	toks, _, err := t.tokenize(text)
	if err != nil {
		return nil, err
	}
	ids := make([]int, len(toks))
	for i, tk := range toks {
		ids[i] = tk.id
	}
	return ids, nil
}

// Pieces returns the BPE pieces of text (with "</w>" word ends), e.g. to
// show a user how a word is split.
func (t *Tokenizer) Pieces(text string) []string {
	var out []string
	for _, w := range preTokenize(cleanText(text), t.specials) {
		out = append(out, t.wordPieces(w)...)
	}
	return out
}

// token is one id and the index of the pre-token (word) it came from.
type token struct {
	id   int
	word int
}

// tokenize returns the tokens of text and the pre-tokens (words) they index.
func (t *Tokenizer) tokenize(text string) ([]token, []string, error) {
	var out []token
	words := preTokenize(cleanText(text), t.specials)
	for wi, w := range words {
		if w == t.specials[0] || w == t.specials[1] {
			out = append(out, token{t.vocab[w], wi})
			continue
		}
		for _, p := range t.wordPieces(w) {
			id, ok := t.vocab[p]
			if !ok {
				// Hugging Face maps unknown pieces to unk; CLIP's own
				// files never need it, other folders might.
				if t.unk < 0 {
					return nil, nil, fmt.Errorf("token %q of %q is not in the vocabulary and there is no unk token", p, w)
				}
				id = t.unk
			}
			out = append(out, token{id, wi})
		}
	}
	return out, words, nil
}

func (t *Tokenizer) wordPieces(w string) []string {
	if w == t.specials[0] || w == t.specials[1] {
		return []string{w}
	}
	return t.bpe.encodeWord(w, byteEncode(w))
}

// frame adds BOS/EOS, truncates and pads to MaxLength.
func (t *Tokenizer) frame(toks []token) []int {
	ids := make([]int, 0, t.maxLen)
	ids = append(ids, t.bos)
	for _, tk := range toks[:min(len(toks), t.maxLen-2)] {
		ids = append(ids, tk.id)
	}
	ids = append(ids, t.eos)
	for len(ids) < t.maxLen {
		ids = append(ids, t.pad)
	}
	return ids
}
