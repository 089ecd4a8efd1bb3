package imageio

import (
	"bytes"
	"compress/zlib"
	"errors"
	"image/color"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func sampleRecipe() Recipe {
	return Recipe{
		Prompt:         "a photo of a ceramic mug, on a marble counter\nmorning light",
		NegativePrompt: "blurry, lowres",
		Steps:          30, Sampler: "DPM++ 2M Karras", CFGScale: 7.5, Seed: 3541287734,
		Width: 512, Height: 768, ModelHash: "6ce0161689", Model: "toyworld",
		DenoisingStrength: 0.45,
		Extra: []Field{
			{"OneActor subject", "mug #3"},
			{"OneActor guidance", "eta1 8.5, eta2 1.0, scale 0.8"},
			{"Note", `"quoted" text: with colon`},
			{"Spacing", " leading "},
		},
	}
}

func TestRecipeFormat(t *testing.T) {
	text, err := sampleRecipe().Format()
	if err != nil {
		t.Fatal(err)
	}
	want := "a photo of a ceramic mug, on a marble counter\nmorning light\n" +
		"Negative prompt: blurry, lowres\n" +
		`Steps: 30, Sampler: DPM++ 2M Karras, CFG scale: 7.5, Seed: 3541287734, Size: 512x768, ` +
		`Model hash: 6ce0161689, Model: toyworld, Denoising strength: 0.45, OneActor subject: mug #3, ` +
		`OneActor guidance: "eta1 8.5, eta2 1.0, scale 0.8", Note: "\"quoted\" text: with colon", Spacing: " leading "`
	if text != want {
		t.Fatalf("Format:\n%s\nwant:\n%s", text, want)
	}
	r := sampleRecipe()
	r.Extra = []Field{{"bad: key", "x"}}
	if _, err := r.Format(); err == nil {
		t.Error("a key with a colon was accepted")
	}
}

func TestRecipePNGRoundTrip(t *testing.T) {
	img := noiseImage(24, 16)
	for _, prompt := range []string{
		"a photo of a ceramic mug, on a marble counter\nmorning light", // tEXt
		"un café crème, très chaud",                                    // tEXt, Latin-1 bytes
		"城市里的生物 🐉, dragon",                                             // iTXt (UTF-8)
	} {
		r := sampleRecipe()
		r.Prompt = prompt
		text, err := r.Format()
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := EncodePNG(&buf, img, Text{ParametersKey, text}, Text{"Software", "OneActor Desktop"}); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		latin := !strings.ContainsAny(prompt, "城🐉")
		if latin != bytes.Contains(data, []byte("tEXtparameters\x00")) {
			t.Errorf("%q: chunk type wrong (want tEXt: %v)", prompt, latin)
		}
		if strings.Contains(prompt, "é") && !bytes.Contains(data, []byte("caf\xe9")) {
			t.Errorf("%q: tEXt should hold Latin-1 bytes", prompt)
		}
		// The image itself is untouched by the extra chunks.
		got, _, err := DecodeBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		for y := range 16 {
			for x := range 24 {
				if color.NRGBAModel.Convert(got.At(x, y)) != img.NRGBAAt(x, y) {
					t.Fatalf("pixel %d,%d changed", x, y)
				}
			}
		}
		params, ok, err := ReadParameters(bytes.NewReader(data))
		if err != nil || !ok || params != text {
			t.Fatalf("ReadParameters = %q, %v, %v; want %q", params, ok, err, text)
		}
		back := ParseRecipe(params)
		if !reflect.DeepEqual(back, r) {
			t.Errorf("round trip:\n got %+v\nwant %+v", back, r)
		}
	}
}

func TestParseForeignA1111(t *testing.T) {
	// As AUTOMATIC1111 v1.9 writes it: multi-line prompt and negative
	// prompt, quoted values with commas and colons, fields we do not know.
	text := `masterpiece, best quality, 1girl, (detailed face:1.2),
standing in a field of flowers, <lora:add_detail:0.5>
Negative prompt: lowres, bad anatomy,
worst quality
Steps: 28, Sampler: DPM++ 2M, Schedule type: Karras, CFG scale: 7, Seed: 1234567890123, Size: 512x768, ` +
		`Model hash: 6ce0161689, Model: v1-5-pruned-emaonly, Denoising strength: 0.45, Clip skip: 2, ` +
		`Hires upscaler: Latent (nearest-exact), Lora hashes: "add_detail: 7c6bad76eb54, more: 3b8aa1d351ef", ` +
		`TI hashes: "easynegative: c74b4e810b03", Version: v1.9.4`
	want := Recipe{
		Prompt:         "masterpiece, best quality, 1girl, (detailed face:1.2),\nstanding in a field of flowers, <lora:add_detail:0.5>",
		NegativePrompt: "lowres, bad anatomy,\nworst quality",
		Steps:          28, Sampler: "DPM++ 2M", CFGScale: 7, Seed: 1234567890123, Width: 512, Height: 768,
		ModelHash: "6ce0161689", Model: "v1-5-pruned-emaonly", DenoisingStrength: 0.45,
		Extra: []Field{
			{"Schedule type", "Karras"}, {"Clip skip", "2"}, {"Hires upscaler", "Latent (nearest-exact)"},
			{"Lora hashes", "add_detail: 7c6bad76eb54, more: 3b8aa1d351ef"},
			{"TI hashes", "easynegative: c74b4e810b03"}, {"Version", "v1.9.4"},
		},
	}
	if got := ParseRecipe(text); !reflect.DeepEqual(got, want) {
		t.Errorf("ParseRecipe:\n got %+v\nwant %+v", got, want)
	}
	if v, ok := want.Get("Clip skip"); !ok || v != "2" {
		t.Errorf("Get(Clip skip) = %q, %v", v, ok)
	}
}

func TestParseA1111Variants(t *testing.T) {
	// No negative prompt, CRLF line ends, bad numbers kept as text.
	r := ParseRecipe("a cat\r\nSteps: 20, Sampler: Euler a, CFG scale: 7.0, Seed: -1x, Size: 64x64\r\n")
	if r.Prompt != "a cat" || r.NegativePrompt != "" || r.Steps != 20 || r.Sampler != "Euler a" ||
		r.CFGScale != 7 || r.Width != 64 || r.Height != 64 {
		t.Errorf("parsed %+v", r)
	}
	if v, ok := r.Get("Seed"); !ok || v != "-1x" {
		t.Errorf("unparsable seed should stay in Extra: %+v", r.Extra)
	}
	// Fewer than three fields on the last line: it is part of the prompt.
	r = ParseRecipe("portrait of a knight\nstyle: baroque")
	if r.Prompt != "portrait of a knight\nstyle: baroque" || r.Steps != 0 || r.Extra != nil {
		t.Errorf("prompt-only text parsed as %+v", r)
	}
	// Only a negative prompt and settings.
	r = ParseRecipe("Negative prompt: ugly\nSteps: 5, Seed: 1, Size: 8x8")
	if r.Prompt != "" || r.NegativePrompt != "ugly" || r.Steps != 5 || r.Seed != 1 {
		t.Errorf("parsed %+v", r)
	}
	if r := ParseRecipe(""); r.Prompt != "" || r.Extra != nil {
		t.Errorf("empty text parsed as %+v", r)
	}
}

// foreignPNG builds a PNG the way other tools write metadata: a zTXt
// (compressed) parameters chunk after the image data.
func foreignPNG(t *testing.T, chunks ...[]byte) []byte {
	t.Helper()
	data := encodePNG(t, noiseImage(4, 4))
	iend := len(data) - 12
	out := append([]byte{}, data[:iend]...)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return append(out, data[iend:]...)
}

func TestReadForeignPNGText(t *testing.T) {
	text := "a dog\nSteps: 10, Sampler: DDIM, CFG scale: 5, Seed: 7, Size: 4x4"
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write([]byte(text))
	zw.Close()
	ztxt := pngChunk("zTXt", append([]byte("parameters\x00\x00"), z.Bytes()...))
	// A UTF-8 tEXt chunk, as some tools write against the spec.
	utf := pngChunk("tEXt", []byte("Comment\x00caf\xc3\xa9"))
	data := foreignPNG(t, utf, ztxt)
	texts, err := ReadPNGText(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if len(texts) != 2 || texts[0] != (Text{"Comment", "café"}) || texts[1] != (Text{"parameters", text}) {
		t.Fatalf("texts %q", texts)
	}
	if r := ParseRecipe(texts[1].Value); r.Sampler != "DDIM" || r.Seed != 7 {
		t.Errorf("parsed %+v", r)
	}
	// No parameters chunk.
	if _, ok, err := ReadParameters(bytes.NewReader(encodePNG(t, noiseImage(2, 2)))); ok || err != nil {
		t.Errorf("plain PNG: ok %v err %v", ok, err)
	}
	// A corrupted text chunk is reported, not silently misread.
	bad := pngChunk("tEXt", []byte("parameters\x00abc"))
	bad[len(bad)-1] ^= 0xFF
	if _, _, err := ReadParameters(bytes.NewReader(foreignPNG(t, bad))); err == nil || !strings.Contains(err.Error(), "CRC") {
		t.Errorf("bad CRC: %v", err)
	}
	// A zTXt bomb (16 MiB of zeros) is refused.
	var bomb bytes.Buffer
	zw = zlib.NewWriter(&bomb)
	zw.Write(make([]byte, 16<<20))
	zw.Close()
	zb := pngChunk("zTXt", append([]byte("parameters\x00\x00"), bomb.Bytes()...))
	if _, _, err := ReadParameters(bytes.NewReader(foreignPNG(t, zb))); err == nil || !strings.Contains(err.Error(), "1 MiB") {
		t.Errorf("zTXt bomb: %v", err)
	}
	// Not a PNG; a PNG cut short.
	if _, _, err := ReadParameters(strings.NewReader("GIF89a")); !errors.Is(err, ErrUnsupported) {
		t.Errorf("GIF: %v", err)
	}
	if _, _, err := ReadParameters(bytes.NewReader(data[:40])); !errors.Is(err, ErrTruncated) {
		t.Errorf("truncated: %v", err)
	}
}

func TestWritePNGFileIsAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "out.png")
	if err := WritePNGFile(path, noiseImage(8, 8), Text{ParametersKey, "x\nSteps: 1, Seed: 2, Size: 8x8"}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if p, ok, err := ReadParameters(f); !ok || err != nil || !strings.HasPrefix(p, "x\n") {
		t.Errorf("ReadParameters = %q %v %v", p, ok, err)
	}
	// A failing write (bad keyword) leaves neither the file nor a temp file.
	bad := filepath.Join(dir, "bad.png")
	if err := WritePNGFile(bad, noiseImage(8, 8), Text{"", "x"}); err == nil {
		t.Fatal("empty keyword accepted")
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only out.png", len(entries))
	}
}
