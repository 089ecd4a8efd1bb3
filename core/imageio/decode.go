// Package imageio reads and writes the pictures the app handles: decoding
// user images safely (size checked from the header before any pixel is
// allocated, EXIF orientation applied), resizing and cropping them for the
// models, and writing PNGs that carry their generation recipe in the
// AUTOMATIC1111 "parameters" text chunk.
package imageio

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	_ "image/jpeg" // registers the JPEG decoder
	_ "image/png"  // registers the PNG decoder
	"io"
	"os"

	_ "golang.org/x/image/webp" // registers the WebP decoder
)

// MaxPixels is the largest image decoded: 64 MiP (8192×8192), far above any
// model resolution, and at 4 bytes a pixel a 256 MiB allocation at most.
const MaxPixels = 64 << 20

// MaxFileBytes bounds how much of a file is read.
const MaxFileBytes = 256 << 20

// Decode errors, for errors.Is.
var (
	ErrTooLarge    = errors.New("image too large")
	ErrTruncated   = errors.New("image file is truncated")
	ErrUnsupported = errors.New("not a PNG, JPEG or WebP image")
)

// Info describes a decoded image.
type Info struct {
	Format string // "png", "jpeg" or "webp"
	// Width and Height are the decoded image's, after orientation.
	Width, Height int
	// Orientation is the EXIF orientation applied (1 = none).
	Orientation int
}

// DecodeFile decodes an image file; see Decode.
func DecodeFile(path string) (image.Image, Info, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Info{}, fmt.Errorf("opening image: %w", err)
	}
	defer f.Close()
	img, info, err := Decode(f)
	if err != nil {
		return nil, info, fmt.Errorf("%s: %w", path, err)
	}
	return img, info, nil
}

// Decode reads a PNG, JPEG or WebP image. The dimensions are read from the
// header first and anything over MaxPixels is refused before decoding, so a
// small file that claims a huge canvas (a decompression bomb) costs nothing.
// JPEG EXIF orientation is applied, so the result is upright.
func Decode(r io.Reader) (image.Image, Info, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxFileBytes+1))
	if err != nil {
		return nil, Info{}, fmt.Errorf("reading image: %w", err)
	}
	if len(data) > MaxFileBytes {
		return nil, Info{}, fmt.Errorf("%w: file is over %d MiB", ErrTooLarge, MaxFileBytes>>20)
	}
	return DecodeBytes(data)
}

// DecodeBytes is Decode for an in-memory file.
func DecodeBytes(data []byte) (image.Image, Info, error) {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, Info{}, decodeError("reading image header", format, err)
	}
	info := Info{Format: format, Width: cfg.Width, Height: cfg.Height, Orientation: 1}
	// imaging registers GIF, BMP and TIFF decoders process-wide; they are
	// not formats this app takes, and TIFF is a large attack surface.
	if format != "png" && format != "jpeg" && format != "webp" {
		return nil, info, fmt.Errorf("%w (found %s)", ErrUnsupported, format)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 {
		return nil, info, fmt.Errorf("%s header claims an empty %d×%d image", format, cfg.Width, cfg.Height)
	}
	if px := int64(cfg.Width) * int64(cfg.Height); px > MaxPixels {
		return nil, info, fmt.Errorf("%w: %s is %d×%d = %.1f megapixels, the limit is %.1f",
			ErrTooLarge, format, cfg.Width, cfg.Height, float64(px)/1e6, float64(MaxPixels)/1e6)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		if endsEarly(format, data) {
			return nil, info, fmt.Errorf("decoding image: %w: the %s data ends before its end marker (%v)", ErrTruncated, format, err)
		}
		return nil, info, decodeError("decoding image", format, err)
	}
	if format == "jpeg" {
		info.Orientation = jpegOrientation(data)
		img = applyOrientation(img, info.Orientation)
	}
	b := img.Bounds()
	info.Width, info.Height = b.Dx(), b.Dy()
	return img, info, nil
}

// decodeError turns the standard decoders' terse errors into ones that say
// what is wrong with the file.
func decodeError(what, format string, err error) error {
	switch {
	case errors.Is(err, image.ErrFormat):
		return fmt.Errorf("%s: %w", what, ErrUnsupported)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		if format == "" {
			return fmt.Errorf("%s: %w (%v)", what, ErrTruncated, err)
		}
		return fmt.Errorf("%s: %w: the %s data ends early", what, ErrTruncated, format)
	}
	if format == "" {
		return fmt.Errorf("%s: %w", what, err)
	}
	return fmt.Errorf("%s: corrupt %s: %w", what, format, err)
}

// endsEarly reports whether a file that failed to decode lacks its format's
// end: the standard decoders report a cut-off file as a format error
// ("not enough pixel data", "short Huffman data"), which would send users
// looking for corruption instead of an incomplete download or copy.
func endsEarly(format string, data []byte) bool {
	switch format {
	case "png":
		return !bytes.HasSuffix(data, []byte{0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82})
	case "jpeg":
		// Some writers pad after EOI; the entropy-coded data never holds FF D9.
		return !bytes.HasSuffix(bytes.TrimRight(data, "\x00\r\n "), []byte{0xFF, 0xD9})
	case "webp":
		// RIFF header: "RIFF", little-endian size of the rest, "WEBP".
		return len(data) >= 8 && int64(len(data)) < 8+int64(binary.LittleEndian.Uint32(data[4:8]))
	}
	return false
}
