package imageio

import (
	"encoding/binary"
	"image"
	"image/color"
	"testing"
)

// exifSegment builds an APP1 Exif segment whose IFD0 holds a filler tag and
// the orientation tag.
func exifSegment(order binary.AppendByteOrder, orientation uint16) []byte {
	t := []byte("II")
	if order.String() == binary.BigEndian.String() {
		t = []byte("MM")
	}
	t = order.AppendUint16(t, 42)
	t = order.AppendUint32(t, 8)
	t = order.AppendUint16(t, 2)
	// 0x010F Make, ASCII, count 4, inline "Go\x00\x00".
	t = order.AppendUint16(t, 0x010F)
	t = order.AppendUint16(t, 2)
	t = order.AppendUint32(t, 4)
	t = append(t, 'G', 'o', 0, 0)
	// 0x0112 Orientation, SHORT, count 1.
	t = order.AppendUint16(t, 0x0112)
	t = order.AppendUint16(t, 3)
	t = order.AppendUint32(t, 1)
	t = order.AppendUint16(t, orientation)
	t = append(t, 0, 0)
	t = order.AppendUint32(t, 0) // no next IFD
	return app1(append([]byte("Exif\x00\x00"), t...))
}

func app1(payload []byte) []byte {
	seg := []byte{0xFF, 0xE1}
	seg = binary.BigEndian.AppendUint16(seg, uint16(len(payload)+2))
	return append(seg, payload...)
}

// withSegments inserts APP segments right after a JPEG's SOI marker.
func withSegments(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

// halves is 32×16: left half red, right half blue; big flat areas survive
// JPEG compression.
func halves() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, 32, 16))
	for y := range 16 {
		for x := range 32 {
			c := color.NRGBA{220, 20, 20, 255}
			if x >= 16 {
				c = color.NRGBA{20, 20, 220, 255}
			}
			img.SetNRGBA(x, y, c)
		}
	}
	return img
}

func isRed(c color.Color) bool {
	r, _, b, _ := c.RGBA()
	return r > 0x8000 && b < 0x8000
}

func isBlue(c color.Color) bool {
	r, _, b, _ := c.RGBA()
	return b > 0x8000 && r < 0x8000
}

func TestEXIFOrientation6RotatesClockwise(t *testing.T) {
	jpg := encodeJPEG(t, halves())
	for _, order := range []binary.AppendByteOrder{binary.LittleEndian, binary.BigEndian} {
		// An XMP APP1 first, as cameras and editors often write.
		data := withSegments(jpg, app1([]byte("http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta/>")), exifSegment(order, 6))
		img, info, err := DecodeBytes(data)
		if err != nil {
			t.Fatal(err)
		}
		if info.Orientation != 6 || info.Width != 16 || info.Height != 32 {
			t.Fatalf("%v: info %+v, want orientation 6 and 16×32", order, info)
		}
		// Turned 90° clockwise, the left (red) half is now on top.
		if !isRed(img.At(8, 4)) || !isBlue(img.At(8, 28)) {
			t.Errorf("%v: top %v bottom %v, want red over blue", order, img.At(8, 4), img.At(8, 28))
		}
	}
}

func TestEXIFOrientation3Rotates180(t *testing.T) {
	data := withSegments(encodeJPEG(t, halves()), exifSegment(binary.LittleEndian, 3))
	img, info, err := DecodeBytes(data)
	if err != nil {
		t.Fatal(err)
	}
	if info.Orientation != 3 || info.Width != 32 || info.Height != 16 {
		t.Fatalf("info %+v", info)
	}
	if !isBlue(img.At(4, 8)) || !isRed(img.At(28, 8)) {
		t.Errorf("left %v right %v, want blue then red", img.At(4, 8), img.At(28, 8))
	}
}

func TestEXIFOrientationMalformed(t *testing.T) {
	good := exifSegment(binary.LittleEndian, 6)
	badOffset := append([]byte{}, good...)
	binary.LittleEndian.PutUint32(badOffset[4+6+4:], 0xFFFFFF00) // IFD0 far outside
	badType := append([]byte{}, good...)
	binary.LittleEndian.PutUint16(badType[4+6+8+2+12+2:], 4) // orientation as LONG
	badValue := exifSegment(binary.LittleEndian, 9)
	shortSeg := []byte{0xFF, 0xE1, 0x00, 0x40, 'E', 'x'} // length past the end
	for name, seg := range map[string][]byte{"offset": badOffset, "type": badType, "value": badValue, "length": shortSeg} {
		data := append([]byte{0xFF, 0xD8}, seg...)
		if o := jpegOrientation(data); o != 1 {
			t.Errorf("%s: orientation %d, want 1", name, o)
		}
	}
	if o := jpegOrientation(withSegments([]byte{0xFF, 0xD8, 0xFF, 0xD9}, good)); o != 6 {
		t.Errorf("well-formed segment read as %d", o)
	}
}

// FuzzJPEGOrientation: whatever the bytes, the reader returns 1..8 and
// never panics or reads out of bounds. `go test` runs the seeds.
func FuzzJPEGOrientation(f *testing.F) {
	f.Add(withSegments([]byte{0xFF, 0xD8, 0xFF, 0xD9}, exifSegment(binary.BigEndian, 8)))
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xE1, 0x00, 0x02})
	f.Add([]byte{0xFF, 0xD8, 0xFF, 0xFF, 0xFF, 0xE1, 0x00, 0x0E, 'E', 'x', 'i', 'f', 0, 0, 'M', 'M', 0, 42, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		if o := jpegOrientation(data); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}
