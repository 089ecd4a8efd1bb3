package tokenizer

import (
	"slices"
	"testing"
)

func TestSuggestSingleTokenWords(t *testing.T) {
	vocab := `{"<|startoftext|>":0,"<|endoftext|>":1,"creature</w>":2,"creatures</w>":3,"c":4,"r":5,"e":6,"a":7,"t":8,"u":9,"cre":10,"hat</w>":11,"mug</w>":12,"mugs</w>":13}`
	tok, err := New([]byte(vocab), []byte("#version: 0.2\nc r\ncr e\n"), nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := tok.Suggest("creaturez", 3)
	if len(got) == 0 || got[0] != "creature" || slices.Contains(got, "hat") {
		t.Fatalf("suggestions for creaturez: %v", got)
	}
	if got := tok.Suggest("mu", 5); !slices.Contains(got, "mug") {
		t.Fatalf("prefix suggestions: %v", got)
	}
}
