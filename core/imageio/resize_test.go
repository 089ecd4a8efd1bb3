package imageio

import (
	"image"
	"testing"
)

func TestResizeAndCrop(t *testing.T) {
	src := halves() // 32×16, red | blue
	fill, err := Fill(src, 8, 8)
	if err != nil {
		t.Fatal(err)
	}
	// Covering 8×8 from 32×16 scales to 16×8 and keeps the centre, which
	// straddles the red/blue boundary.
	if fill.Bounds() != image.Rect(0, 0, 8, 8) || !isRed(fill.At(0, 4)) || !isBlue(fill.At(7, 4)) {
		t.Errorf("Fill: bounds %v, left %v, right %v", fill.Bounds(), fill.At(0, 4), fill.At(7, 4))
	}
	rs, err := Resize(src, 10, 30)
	if err != nil || rs.Bounds() != image.Rect(0, 0, 10, 30) {
		t.Errorf("Resize: %v %v", rs.Bounds(), err)
	}
	th, err := Thumbnail(src, 8)
	if err != nil || th.Bounds() != image.Rect(0, 0, 8, 4) {
		t.Errorf("Thumbnail: %v %v", th.Bounds(), err)
	}
	cc, err := CropCenter(src, 4, 4)
	if err != nil || cc.Bounds() != image.Rect(0, 0, 4, 4) || !isRed(cc.At(0, 0)) || !isBlue(cc.At(3, 0)) {
		t.Errorf("CropCenter: %v %v", cc.Bounds(), err)
	}
	if _, err := CropCenter(src, 40, 4); err == nil {
		t.Error("crop larger than the image accepted")
	}
	if _, err := Fill(src, 0, 8); err == nil {
		t.Error("zero width accepted")
	}
}
