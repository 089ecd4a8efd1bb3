package tokenizer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The ToyWorld tokenizer files and the ids tools/toyworld/tokenizer.py (the
// Python reference) produced for them.
var (
	toyDir     = filepath.Join("..", "..", "models", "toyworld", "tokenizer")
	goldenPath = filepath.Join("..", "..", "testdata", "toyworld", "tokenizer_golden.json")
)

type golden struct {
	BOS       int              `json:"bos"`
	EOS       int              `json:"eos"`
	Pad       int              `json:"pad"`
	MaxLength int              `json:"max_length"`
	Words     map[string][]int `json:"words"`
	Cases     []struct {
		Text   string `json:"text"`
		IDs    []int  `json:"ids"`
		Tokens []int  `json:"tokens"`
	} `json:"cases"`
	WordPositions []struct {
		Text      string `json:"text"`
		Word      string `json:"word"`
		Positions []int  `json:"positions"`
	} `json:"word_positions"`
}

func loadGolden(t *testing.T) (*Tokenizer, golden) {
	t.Helper()
	tok, err := Load(toyDir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(goldenPath)
	if err != nil {
		t.Fatal(err)
	}
	var g golden
	if err := json.Unmarshal(b, &g); err != nil {
		t.Fatal(err)
	}
	if len(g.Cases) == 0 || len(g.Words) == 0 || len(g.WordPositions) == 0 {
		t.Fatal("golden file has no cases")
	}
	return tok, g
}

func TestGoldenSpecialIDs(t *testing.T) {
	tok, g := loadGolden(t)
	if tok.BOS() != g.BOS || tok.EOS() != g.EOS || tok.Pad() != g.Pad || tok.MaxLength() != g.MaxLength {
		t.Fatalf("bos/eos/pad/max = %d/%d/%d/%d, golden %d/%d/%d/%d",
			tok.BOS(), tok.EOS(), tok.Pad(), tok.MaxLength(), g.BOS, g.EOS, g.Pad, g.MaxLength)
	}
}

func TestGoldenIDs(t *testing.T) {
	tok, g := loadGolden(t)
	for _, c := range g.Cases {
		ids, err := tok.Encode(c.Text)
		if err != nil {
			t.Errorf("Encode(%q): %v", c.Text, err)
			continue
		}
		if !slices.Equal(ids, c.IDs) {
			t.Errorf("Encode(%q)\n got %v\nwant %v", c.Text, ids, c.IDs)
		}
		toks, err := tok.Tokens(c.Text)
		if err != nil {
			t.Errorf("Tokens(%q): %v", c.Text, err)
			continue
		}
		if !slices.Equal(toks, c.Tokens) && !(len(toks) == 0 && len(c.Tokens) == 0) {
			t.Errorf("Tokens(%q)\n got %v\nwant %v", c.Text, toks, c.Tokens)
		}
	}
}

func TestGoldenWords(t *testing.T) {
	tok, g := loadGolden(t)
	for word, want := range g.Words {
		got, err := tok.Tokens(word)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("Tokens(%q) = %v, %v; want %v", word, got, err, want)
		}
		id, err := tok.WordID(word)
		var multi *MultiTokenError
		switch {
		case len(want) == 1 && (err != nil || id != want[0]):
			t.Errorf("WordID(%q) = %d, %v; want %d", word, id, err, want[0])
		case len(want) > 1 && !errors.As(err, &multi):
			t.Errorf("WordID(%q) = %d, %v; want a MultiTokenError", word, id, err)
		case len(want) > 1 && len(multi.Pieces) != len(want):
			t.Errorf("WordID(%q) error lists %d pieces, want %d", word, len(multi.Pieces), len(want))
		}
	}
}

func TestGoldenWordPositions(t *testing.T) {
	tok, g := loadGolden(t)
	for _, c := range g.WordPositions {
		got, err := tok.WordPositions(c.Text, c.Word)
		if err != nil || !slices.Equal(got, c.Positions) {
			t.Errorf("WordPositions(%q, %q) = %v, %v; want %v", c.Text, c.Word, got, err, c.Positions)
		}
	}
}
