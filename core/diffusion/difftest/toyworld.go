package difftest

import (
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/onnx"
)

// ToyWorldLayout builds, in a temporary folder, a complete model folder of
// one of the committed ToyWorld export layouts other than the bundled one:
// "diffusers" (external data in weights.pb) or "fp16" (model.onnx_data).
// Their graphs (testdata/toyworld/layouts/NAME) reference the committed
// weight bytes of models/toyworld at the same offsets, so the data files
// are copied under the layout's name (tools/toyworld/README.md,
// "Materialising the other layouts").
func ToyWorldLayout(t testing.TB, repoRoot, layout string) string {
	t.Helper()
	dataName := onnx.ModelOnnxData
	if layout == "diffusers" {
		dataName = onnx.WeightsPB
	}
	src := filepath.Join(repoRoot, "testdata", "toyworld", "layouts", layout)
	if _, err := os.Stat(src); err != nil {
		t.Fatalf("ToyWorld layout %q: %v", layout, err)
	}
	dst := t.TempDir()
	err := filepath.Walk(src, func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		if info.IsDir() {
			return os.MkdirAll(out, 0o755)
		}
		return copyFile(p, out)
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, comp := range []string{"text_encoder", "unet", "vae_encoder", "vae_decoder"} {
		data := filepath.Join(repoRoot, "models", "toyworld", comp, onnx.ModelOnnxData)
		if _, err := os.Stat(data); err != nil {
			continue
		}
		if err := copyFile(data, filepath.Join(dst, comp, dataName)); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

func copyFile(src, dst string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return err
	}
	return out.Close()
}
