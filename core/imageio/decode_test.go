package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

func pngChunk(typ string, data []byte) []byte {
	c := binary.BigEndian.AppendUint32(nil, uint32(len(data)))
	c = append(c, typ...)
	c = append(c, data...)
	return binary.BigEndian.AppendUint32(c, crc32.ChecksumIEEE(c[4:]))
}

// bombPNG is a valid-looking 60-byte PNG whose header claims w×h RGB pixels.
func bombPNG(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32(nil, w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 2, 0, 0, 0) // 8-bit RGB, deflate, no filter, no interlace
	out := []byte(pngSignature)
	out = append(out, pngChunk("IHDR", ihdr)...)
	out = append(out, pngChunk("IDAT", []byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01})...)
	return append(out, pngChunk("IEND", nil)...)
}

func noiseImage(w, h int) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(1, 2))
	for i := range img.Pix {
		img.Pix[i] = byte(rng.IntN(256))
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 255
	}
	return img
}

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func encodeJPEG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 95}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestDecodeRejectsDecompressionBomb(t *testing.T) {
	start := time.Now()
	_, info, err := DecodeBytes(bombPNG(100000, 100000))
	if !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
	if !strings.Contains(err.Error(), "100000×100000") {
		t.Errorf("error %q should state the claimed size", err)
	}
	if info.Width != 100000 || time.Since(start) > time.Second {
		t.Errorf("info %+v after %v: the header alone should decide", info, time.Since(start))
	}
	// Just over and at the limit: 8192×8193 is refused, 8192×8192 is not
	// refused for its size (it then fails for its missing pixel data).
	if _, _, err := DecodeBytes(bombPNG(8192, 8193)); !errors.Is(err, ErrTooLarge) {
		t.Errorf("8192×8193: %v", err)
	}
	if _, _, err := DecodeBytes(bombPNG(8192, 8192)); err == nil || errors.Is(err, ErrTooLarge) {
		t.Errorf("8192×8192: %v, want a non-size error", err)
	}
}

func TestDecodeRejectsHugeJPEGHeader(t *testing.T) {
	data := encodeJPEG(t, noiseImage(16, 16))
	// Patch the SOF0 frame size to 65535×65535.
	i := bytes.Index(data, []byte{0xFF, 0xC0})
	if i < 0 {
		t.Fatal("no SOF0 marker")
	}
	binary.BigEndian.PutUint16(data[i+5:], 65535)
	binary.BigEndian.PutUint16(data[i+7:], 65535)
	if _, _, err := DecodeBytes(data); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestDecodeTruncated(t *testing.T) {
	img := noiseImage(64, 64)
	for _, c := range []struct {
		name string
		data []byte
	}{{"png", encodePNG(t, img)}, {"jpeg", encodeJPEG(t, img)}} {
		for _, cut := range []int{len(c.data) / 2, len(c.data) - 20, 20} {
			_, _, err := DecodeBytes(c.data[:cut])
			if !errors.Is(err, ErrTruncated) {
				t.Errorf("%s cut to %d of %d bytes: err = %v, want ErrTruncated", c.name, cut, len(c.data), err)
			}
		}
		if _, _, err := DecodeBytes(c.data); err != nil {
			t.Errorf("%s whole: %v", c.name, err)
		}
	}
}

func TestDecodeGarbage(t *testing.T) {
	for _, data := range [][]byte{nil, []byte("GIF89a not supported"), []byte("hello world, not an image at all")} {
		if _, _, err := DecodeBytes(data); !errors.Is(err, ErrUnsupported) {
			t.Errorf("DecodeBytes(%q) err = %v, want ErrUnsupported", data, err)
		}
	}
	// A PNG signature followed by junk is a corrupt PNG, not a format question.
	junk := append([]byte(pngSignature), bytes.Repeat([]byte{0xAB}, 64)...)
	if _, _, err := DecodeBytes(junk); err == nil || errors.Is(err, ErrTooLarge) {
		t.Errorf("corrupt PNG: %v", err)
	}
}

func TestDecodeRoundTripPixels(t *testing.T) {
	img := noiseImage(17, 9)
	got, info, err := Decode(bytes.NewReader(encodePNG(t, img)))
	if err != nil {
		t.Fatal(err)
	}
	if info.Format != "png" || info.Width != 17 || info.Height != 9 || info.Orientation != 1 {
		t.Fatalf("info %+v", info)
	}
	for y := range 9 {
		for x := range 17 {
			if color.NRGBAModel.Convert(got.At(x, y)) != img.NRGBAAt(x, y) {
				t.Fatalf("pixel %d,%d differs", x, y)
			}
		}
	}
}
