package tokenizer

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

// tinyVocab is a hand-made SD 2.x-style tokenizer: "!" has id 0 and is the
// pad token in special_tokens_map.json while tokenizer_config.json still says
// <|endoftext|> (the layout stabilityai/stable-diffusion-2 ships).
func tinyFiles(t *testing.T) fstest.MapFS {
	t.Helper()
	vocab := map[string]int{
		"!": 0, "!</w>": 1, "a": 2, "a</w>": 3, "c": 4, "t</w>": 5, "at</w>": 6, "cat</w>": 7,
		"h": 8, "hat</w>": 9, "<|startoftext|>": 10, "<|endoftext|>": 11,
	}
	vb, err := json.Marshal(vocab)
	if err != nil {
		t.Fatal(err)
	}
	return fstest.MapFS{
		"tok/vocab.json": {Data: vb},
		"tok/merges.txt": {Data: []byte("#version: 0.2\na t</w>\nc at</w>\nh at</w>\n")},
		"tok/tokenizer_config.json": {Data: []byte(`{"pad_token": "<|endoftext|>", "model_max_length": 8,
			"bos_token": {"content": "<|startoftext|>"}, "eos_token": {"content": "<|endoftext|>"}}`)},
		"tok/special_tokens_map.json": {Data: []byte(`{"pad_token": "!", "unk_token": {"content": "<|endoftext|>"}}`)},
	}
}

func TestSD2PadsWithExclamation(t *testing.T) {
	tok, err := LoadFS(tinyFiles(t), "tok")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Pad() != 0 || tok.BOS() != 10 || tok.EOS() != 11 || tok.MaxLength() != 8 {
		t.Fatalf("pad/bos/eos/max = %d/%d/%d/%d", tok.Pad(), tok.BOS(), tok.EOS(), tok.MaxLength())
	}
	ids, err := tok.Encode("A cat!")
	if err != nil {
		t.Fatal(err)
	}
	// "!" in the text is an ordinary word ("!</w>", id 1); only padding is id 0.
	want := []int{10, 3, 7, 1, 11, 0, 0, 0}
	if !slices.Equal(ids, want) {
		t.Fatalf("Encode = %v, want %v", ids, want)
	}
}

func TestPadDefaultsToEOSWithoutConfig(t *testing.T) {
	fs := tinyFiles(t)
	delete(fs, "tok/special_tokens_map.json")
	delete(fs, "tok/tokenizer_config.json")
	tok, err := LoadFS(fs, "tok")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Pad() != tok.EOS() || tok.MaxLength() != DefaultMaxLength {
		t.Fatalf("pad %d eos %d max %d", tok.Pad(), tok.EOS(), tok.MaxLength())
	}
}

func TestTruncationKeepsEOS(t *testing.T) {
	tok, err := LoadFS(tinyFiles(t), "tok")
	if err != nil {
		t.Fatal(err)
	}
	ids, err := tok.Encode(strings.Repeat("cat ", 20))
	if err != nil {
		t.Fatal(err)
	}
	want := []int{10, 7, 7, 7, 7, 7, 7, 11}
	if !slices.Equal(ids, want) {
		t.Fatalf("Encode = %v, want %v", ids, want)
	}
	// Occurrences past the cut are not positions in the encoded prompt.
	pos, err := tok.WordPositions(strings.Repeat("cat ", 20), "cat")
	if err != nil || !slices.Equal(pos, []int{1, 2, 3, 4, 5, 6}) {
		t.Fatalf("WordPositions = %v, %v", pos, err)
	}
	if err := tok.SetMaxLength(5); err != nil {
		t.Fatal(err)
	}
	ids, _ = tok.Encode("cat cat cat")
	if !slices.Equal(ids, []int{10, 7, 7, 7, 11}) {
		t.Fatalf("after SetMaxLength(5): %v", ids)
	}
	if err := tok.SetMaxLength(1); err == nil {
		t.Fatal("SetMaxLength(1) accepted")
	}
}

func TestUnknownPieceMapsToUnk(t *testing.T) {
	tok, err := LoadFS(tinyFiles(t), "tok")
	if err != nil {
		t.Fatal(err)
	}
	toks, err := tok.Tokens("dog")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(toks, []int{11, 11, 11}) {
		t.Fatalf("Tokens(dog) = %v, want three unk ids", toks)
	}
}

func TestWordPositionsMatchesWholeWords(t *testing.T) {
	tok, err := LoadFS(tinyFiles(t), "tok")
	if err != nil {
		t.Fatal(err)
	}
	// "chat" is spelled c + hat</w>; the id of "hat" appears but the word
	// does not, so only the real "hat" counts.
	if p := tok.Pieces("chat"); !slices.Equal(p, []string{"c", "hat</w>"}) {
		t.Fatalf("Pieces(chat) = %v", p)
	}
	pos, err := tok.WordPositions("chat HAT chat hat", "Hat")
	if err != nil || !slices.Equal(pos, []int{3, 6}) {
		t.Fatalf("WordPositions = %v, %v; want [3 6]", pos, err)
	}
	pos, err = tok.WordPositions("a cat", "hat")
	if err != nil || len(pos) != 0 {
		t.Fatalf("absent word: %v, %v", pos, err)
	}
}

func TestMultiTokenWord(t *testing.T) {
	tok, err := LoadFS(tinyFiles(t), "tok")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"chat", "a cat", "", "cat!"} {
		_, err := tok.WordPositions("a chat", w)
		var m *MultiTokenError
		if !errors.As(err, &m) {
			t.Errorf("WordPositions(_, %q) error = %v, want MultiTokenError", w, err)
		}
	}
	_, err = tok.WordID("chat")
	if err == nil || !strings.Contains(err.Error(), "c + hat") {
		t.Fatalf("WordID(chat) error %v should name the pieces", err)
	}
}

func TestLoadErrors(t *testing.T) {
	fs := tinyFiles(t)
	delete(fs, "tok/merges.txt")
	if _, err := LoadFS(fs, "tok"); err == nil || !strings.Contains(err.Error(), "merges.txt") {
		t.Errorf("missing merges: %v", err)
	}
	fs = tinyFiles(t)
	fs["tok/special_tokens_map.json"] = &fstest.MapFile{Data: []byte(`{"pad_token": "<pad>"}`)}
	if _, err := LoadFS(fs, "tok"); err == nil || !strings.Contains(err.Error(), "<pad>") {
		t.Errorf("pad not in vocab: %v", err)
	}
	fs = tinyFiles(t)
	fs["tok/vocab.json"] = &fstest.MapFile{Data: []byte(`{"a": `)}
	if _, err := LoadFS(fs, "tok"); err == nil || !strings.Contains(err.Error(), "vocab.json") {
		t.Errorf("broken vocab: %v", err)
	}
	fs = tinyFiles(t)
	fs["tok/merges.txt"] = &fstest.MapFile{Data: []byte("#version: 0.2\na b c\n")}
	if _, err := LoadFS(fs, "tok"); err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad merge line: %v", err)
	}
	if _, err := Load(filepath.Join(t.TempDir(), "nope")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing folder: %v", err)
	}
}
