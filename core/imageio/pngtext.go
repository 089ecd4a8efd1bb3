package imageio

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"unicode/utf8"
)

// ParametersKey is the PNG text keyword AUTOMATIC1111 (and most tools that
// read its recipes: ComfyUI importers, Civitai, InvokeAI) use.
const ParametersKey = "parameters"

// maxTextBytes bounds one text chunk, compressed or not, against zip bombs.
const maxTextBytes = 1 << 20

const pngSignature = "\x89PNG\r\n\x1a\n"

// EncodePNG writes img as a PNG with text chunks, keyword → text, written
// in order right after the header. Text that Latin-1 can hold goes into a
// tEXt chunk (what AUTOMATIC1111 writes); other text (emoji, CJK prompts)
// into an uncompressed UTF-8 iTXt chunk, as PIL, and so A1111, does.
func EncodePNG(w io.Writer, img image.Image, texts ...Text) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return fmt.Errorf("encoding PNG: %w", err)
	}
	data := buf.Bytes()
	// Signature, then IHDR: 4 length + 4 type + 13 data + 4 CRC.
	const ihdrEnd = len(pngSignature) + 25
	if len(data) < ihdrEnd || string(data[12:16]) != "IHDR" {
		return fmt.Errorf("encoding PNG: unexpected encoder output")
	}
	out := make([]byte, 0, len(data)+1024)
	out = append(out, data[:ihdrEnd]...)
	for _, t := range texts {
		chunk, err := textChunk(t)
		if err != nil {
			return err
		}
		out = append(out, chunk...)
	}
	out = append(out, data[ihdrEnd:]...)
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("writing PNG: %w", err)
	}
	return nil
}

// Text is one PNG text chunk.
type Text struct {
	Key, Value string
}

// WritePNGFile writes the PNG to a temporary file beside path and renames
// it into place, so a crash or full disk never leaves half a picture.
func WritePNGFile(path string, img image.Image, texts ...Text) (err error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if err = EncodePNG(f, img, texts...); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

func textChunk(t Text) ([]byte, error) {
	// PNG keywords: 1-79 Latin-1 printable characters, no NUL.
	if t.Key == "" || len(t.Key) > 79 || strings.ContainsRune(t.Key, 0) || !isASCII(t.Key) {
		return nil, fmt.Errorf("PNG text keyword %q is not 1-79 ASCII characters", t.Key)
	}
	if !utf8.ValidString(t.Value) {
		return nil, fmt.Errorf("PNG text %q is not valid UTF-8", t.Key)
	}
	value := strings.ReplaceAll(t.Value, "\x00", "")
	var body []byte
	typ := "tEXt"
	if latin, ok := toLatin1(value); ok {
		body = append(append([]byte(t.Key), 0), latin...)
	} else {
		typ = "iTXt"
		// keyword NUL, compression flag 0, method 0, empty language NUL,
		// empty translated keyword NUL, UTF-8 text.
		body = append(append([]byte(t.Key), 0, 0, 0, 0, 0), value...)
	}
	chunk := make([]byte, 8, 12+len(body))
	binary.BigEndian.PutUint32(chunk, uint32(len(body)))
	copy(chunk[4:], typ)
	chunk = append(chunk, body...)
	return binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:])), nil
}

// ReadPNGText returns the text chunks (tEXt, zTXt, iTXt) of a PNG file, in
// file order. It reads chunk headers only up to the image data's end, and
// checks every CRC.
func ReadPNGText(r io.Reader) ([]Text, error) {
	sig := make([]byte, len(pngSignature))
	if _, err := io.ReadFull(r, sig); err != nil || string(sig) != pngSignature {
		return nil, fmt.Errorf("reading PNG text: %w", ErrUnsupported)
	}
	var texts []Text
	var hdr [8]byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return texts, fmt.Errorf("reading PNG text: %w: no IEND chunk", ErrTruncated)
		}
		n := binary.BigEndian.Uint32(hdr[:4])
		typ := string(hdr[4:8])
		if typ == "IEND" {
			return texts, nil
		}
		if n > 1<<31-1 {
			return texts, fmt.Errorf("reading PNG text: corrupt chunk length %d", n)
		}
		isText := typ == "tEXt" || typ == "zTXt" || typ == "iTXt"
		if !isText || n > maxTextBytes {
			// Skip image data and oversized chunks without buffering them.
			if _, err := io.CopyN(io.Discard, r, int64(n)+4); err != nil {
				return texts, fmt.Errorf("reading PNG text: %w", ErrTruncated)
			}
			continue
		}
		buf := make([]byte, n+4)
		if _, err := io.ReadFull(r, buf); err != nil {
			return texts, fmt.Errorf("reading PNG text: %w", ErrTruncated)
		}
		body := buf[:n]
		crc := crc32.NewIEEE()
		crc.Write(hdr[4:8])
		crc.Write(body)
		if crc.Sum32() != binary.BigEndian.Uint32(buf[n:]) {
			return texts, fmt.Errorf("reading PNG text: %s chunk has a bad CRC", typ)
		}
		t, err := parseTextChunk(typ, body)
		if err != nil {
			return texts, fmt.Errorf("reading PNG text: %w", err)
		}
		texts = append(texts, t)
	}
}

// ReadParameters returns the AUTOMATIC1111 "parameters" text of a PNG, and
// whether it had one.
func ReadParameters(r io.Reader) (string, bool, error) {
	texts, err := ReadPNGText(r)
	for _, t := range texts {
		if t.Key == ParametersKey {
			return t.Value, true, nil
		}
	}
	return "", false, err
}

func parseTextChunk(typ string, body []byte) (Text, error) {
	key, rest, ok := bytes.Cut(body, []byte{0})
	if !ok || len(key) == 0 {
		return Text{}, fmt.Errorf("%s chunk has no keyword", typ)
	}
	t := Text{Key: latin1ToString(key)}
	switch typ {
	case "tEXt":
		t.Value = latin1ToString(rest)
	case "zTXt":
		if len(rest) < 1 || rest[0] != 0 {
			return t, fmt.Errorf("zTXt %q: unknown compression method", t.Key)
		}
		text, err := inflate(rest[1:])
		if err != nil {
			return t, fmt.Errorf("zTXt %q: %w", t.Key, err)
		}
		t.Value = latin1ToString(text)
	case "iTXt":
		if len(rest) < 2 {
			return t, fmt.Errorf("iTXt %q is truncated", t.Key)
		}
		compressed, method := rest[0], rest[1]
		// Skip language tag and translated keyword (both NUL-terminated).
		_, after, ok := bytes.Cut(rest[2:], []byte{0})
		if ok {
			_, after, ok = bytes.Cut(after, []byte{0})
		}
		if !ok {
			return t, fmt.Errorf("iTXt %q is truncated", t.Key)
		}
		if compressed == 1 {
			if method != 0 {
				return t, fmt.Errorf("iTXt %q: unknown compression method", t.Key)
			}
			var err error
			if after, err = inflate(after); err != nil {
				return t, fmt.Errorf("iTXt %q: %w", t.Key, err)
			}
		}
		if !utf8.Valid(after) {
			return t, fmt.Errorf("iTXt %q is not UTF-8", t.Key)
		}
		t.Value = string(after)
	}
	return t, nil
}

func inflate(b []byte) ([]byte, error) {
	zr, err := zlib.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, err
	}
	defer zr.Close()
	out, err := io.ReadAll(io.LimitReader(zr, maxTextBytes+1))
	if err != nil {
		return nil, err
	}
	if len(out) > maxTextBytes {
		return nil, errors.New("decompressed text is over 1 MiB")
	}
	return out, nil
}

func toLatin1(s string) ([]byte, bool) {
	out := make([]byte, 0, len(s))
	for _, r := range s {
		if r > 0xFF {
			return nil, false
		}
		out = append(out, byte(r))
	}
	return out, true
}

// latin1ToString decodes tEXt/zTXt bytes. The PNG spec says Latin-1, and
// PIL writes Latin-1; but some tools put UTF-8 there. Text that is valid
// UTF-8 and has multi-byte sequences is taken as UTF-8: Latin-1 prose
// almost never forms valid UTF-8 by accident.
func latin1ToString(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	rs := make([]rune, len(b))
	for i, c := range b {
		rs[i] = rune(c)
	}
	return string(rs)
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7E {
			return false
		}
	}
	return true
}
