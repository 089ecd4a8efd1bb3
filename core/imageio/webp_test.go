package imageio

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestDecodeWebP(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "blue-purple-pink.lossy.webp"))
	if err != nil {
		t.Fatal(err)
	}
	img, info, err := DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	b := img.Bounds()
	if info.Format != "webp" || b.Dx() != info.Width || b.Dy() != info.Height || info.Width == 0 {
		t.Fatalf("info %+v bounds %v", info, b)
	}
	if _, _, err := DecodeBytes(data[:len(data)/2]); !errors.Is(err, ErrTruncated) {
		t.Errorf("half a WebP: %v, want ErrTruncated", err)
	}
}

func TestDecodeRejectsHugeWebPCanvas(t *testing.T) {
	// RIFF/WEBP with an extended (VP8X) header claiming a 16384×16384 canvas.
	vp8x := []byte{0, 0, 0, 0}                              // flags + reserved
	vp8x = append(vp8x, 0xFF, 0x3F, 0x00, 0xFF, 0x3F, 0x00) // 24-bit width-1, height-1
	chunk := append([]byte("VP8X"), binary.LittleEndian.AppendUint32(nil, uint32(len(vp8x)))...)
	chunk = append(chunk, vp8x...)
	data := append([]byte("RIFF"), binary.LittleEndian.AppendUint32(nil, uint32(4+len(chunk)))...)
	data = append(data, "WEBP"...)
	data = append(data, chunk...)
	if _, _, err := DecodeBytes(data); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}
