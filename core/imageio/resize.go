package imageio

import (
	"fmt"
	"image"

	"github.com/disintegration/imaging"
)

// Fill scales img to cover w×h and crops the centre: what an init or
// conditioning image needs to match the generation size without
// distortion. Lanczos keeps edges crisp for edge/pose maps.
func Fill(img image.Image, w, h int) (*image.NRGBA, error) {
	if err := checkSize(w, h); err != nil {
		return nil, err
	}
	return imaging.Fill(img, w, h, imaging.Center, imaging.Lanczos), nil
}

// Resize scales img to exactly w×h (aspect ratio not kept).
func Resize(img image.Image, w, h int) (*image.NRGBA, error) {
	if err := checkSize(w, h); err != nil {
		return nil, err
	}
	return imaging.Resize(img, w, h, imaging.Lanczos), nil
}

// Thumbnail scales img down to fit inside maxSide×maxSide, keeping the
// aspect ratio; smaller images are returned unscaled (as NRGBA).
func Thumbnail(img image.Image, maxSide int) (*image.NRGBA, error) {
	if err := checkSize(maxSide, maxSide); err != nil {
		return nil, err
	}
	return imaging.Fit(img, maxSide, maxSide, imaging.Lanczos), nil
}

// CropCenter cuts the centred w×h rectangle out of img without scaling.
func CropCenter(img image.Image, w, h int) (*image.NRGBA, error) {
	if err := checkSize(w, h); err != nil {
		return nil, err
	}
	b := img.Bounds()
	if w > b.Dx() || h > b.Dy() {
		return nil, fmt.Errorf("crop %d×%d is larger than the %d×%d image", w, h, b.Dx(), b.Dy())
	}
	return imaging.CropCenter(img, w, h), nil
}

func checkSize(w, h int) error {
	if w <= 0 || h <= 0 || int64(w)*int64(h) > MaxPixels {
		return fmt.Errorf("target size %d×%d out of range", w, h)
	}
	return nil
}
