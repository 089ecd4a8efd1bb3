package tokenizer

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestReferenceRandomPrompts compares against 400 random prompts built from
// adversarial pieces (HTML entities, Unicode whitespace, final sigma, İ,
// combining marks, emoji, CJK, special-token look-alikes) that the Python
// reference encoded; see testdata/gen_reference.py.
func TestReferenceRandomPrompts(t *testing.T) {
	tok, err := Load(toyDir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join("testdata", "reference_cases.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Cases []struct {
			Text   string `json:"text"`
			Tokens []int  `json:"tokens"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Cases) < 100 {
		t.Fatalf("only %d reference cases", len(ref.Cases))
	}
	bad := 0
	for _, c := range ref.Cases {
		got, err := tok.Tokens(c.Text)
		if err != nil || !slices.Equal(got, c.Tokens) {
			bad++
			if bad <= 5 {
				t.Errorf("Tokens(%q)\n got %v (%v)\nwant %v", c.Text, got, err, c.Tokens)
			}
		}
	}
	if bad > 0 {
		t.Errorf("%d of %d reference prompts differ", bad, len(ref.Cases))
	}
}
