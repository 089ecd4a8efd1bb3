package oneactor

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/diffusion/difftest"
	"github.com/oneactor/oneactor-desktop/core/ort"
)

func TestCastFromPromptAndPhoto(t *testing.T) {
	rt, err := ort.Init()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	difftest.WriteFolder(t, dir, filepath.Join("..", ".."), difftest.Script)
	m, err := diffusion.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	eng := diffusion.NewEngine(rt, m, ort.SessionOptions{Provider: ort.ProviderCPU})
	defer eng.Close()
	ctx := context.Background()
	c, err := NewCaster(ctx, rt, eng, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if hs := c.HShape(); len(hs) != 3 || hs[0] != 16 || hs[1] != 4 {
		t.Fatalf("h shape %v", hs)
	}
	cands, err := c.Candidates(ctx, "a creature on the beach", 100, 3, nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(cands) != 3 || cands[2].Seed != 102 || len(cands[0].Sample.H) != 16*4*4 || len(cands[0].Sample.Z0) != 4*8*8 {
		t.Fatalf("candidates: %d, seed %d, h %d", len(cands), cands[2].Seed, len(cands[0].Sample.H))
	}
	// A photo: the first candidate's picture read back as if imported.
	img := cands[0].Image
	px := make([]float32, 3*32*32)
	for i := 0; i < 32*32; i++ {
		for ch := 0; ch < 3; ch++ {
			px[ch*32*32+i] = float32(img.Pix[i*4+ch])/127.5 - 1
		}
	}
	s, err := c.FromPhoto(ctx, px, "a creature on the beach")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.H) != 16*4*4 || len(s.Z0) != 4*8*8 {
		t.Fatalf("photo sample: h %d, z %d", len(s.H), len(s.Z0))
	}
	// The h model is only used while casting.
	plain, err := eng.Generate(ctx, diffusion.Request{Prompt: "a creature", Steps: 2, Seed: 1, N: 1, Width: 32, Height: 32, CFG: 7.5}, nil)
	if err != nil || len(plain.Captured) != 0 {
		t.Fatalf("plain generation after casting: %v, captured %d", err, len(plain.Captured))
	}

	if err := CheckBaseWord(m.Tokenizer, "a creature on the beach", "creature"); err != nil {
		t.Fatal(err)
	}
	err = CheckBaseWord(m.Tokenizer, "a creatureling on the beach", "creatureling")
	var bw *BaseWordError
	if !errors.As(err, &bw) || !strings.Contains(err.Error(), "creature") {
		t.Fatalf("multi-token base word: %v", err)
	}
	t.Logf("%v", err)
	if err := CheckBaseWord(m.Tokenizer, "a red hat", "creature"); err == nil {
		t.Fatal("base word missing from the prompt accepted")
	}
}
