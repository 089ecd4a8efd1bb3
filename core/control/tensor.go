package control

import (
	"fmt"
	"image"
	"image/color"

	"github.com/oneactor/oneactor-desktop/core/imageio"
)

// ImageTensor converts img to what diffusion.Control.Image expects: a
// [3, H, W] float32 slice, channels R, G, B, values in [0, 1]. A grey image
// fills all three channels.
func ImageTensor(img image.Image) []float32 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	n := w * h
	out := make([]float32, 3*n)
	put := func(i int, r, g, bl uint8) {
		out[i], out[n+i], out[2*n+i] = float32(r)/255, float32(g)/255, float32(bl)/255
	}
	switch m := img.(type) {
	case *image.RGBA: // what Render returns: opaque, so straight RGB
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				if row[4*x+3] == 255 {
					put(y*w+x, row[4*x], row[4*x+1], row[4*x+2])
				} else {
					c := color.NRGBAModel.Convert(m.RGBAAt(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
					put(y*w+x, c.R, c.G, c.B)
				}
			}
		}
	case *image.Gray: // what Canny returns
		for y := 0; y < h; y++ {
			row := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			for x := 0; x < w; x++ {
				put(y*w+x, row[x], row[x], row[x])
			}
		}
	default:
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				c := color.NRGBAModel.Convert(img.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				put(y*w+x, c.R, c.G, c.B)
			}
		}
	}
	return out
}

// PoseTensor renders the pose at w×h (the generation size) and converts it
// with ImageTensor. Rendering at the target size, rather than resizing a
// rendered image, keeps the skeleton exactly what the ControlNet saw in
// training.
func PoseTensor(p *Pose, w, h int) ([]float32, error) {
	img, err := Render(p, w, h)
	if err != nil {
		return nil, err
	}
	return ImageTensor(img), nil
}

// EdgeMap fits src to w×h (scaled to cover, centre cropped, as the
// generation will be) and runs Canny there, so edge lines are one output
// pixel wide instead of being blurred by a resize of the edge map.
func EdgeMap(src image.Image, w, h int, opt CannyOptions) (*image.Gray, error) {
	if b := src.Bounds(); b.Dx() != w || b.Dy() != h {
		fitted, err := imageio.Fill(src, w, h)
		if err != nil {
			return nil, fmt.Errorf("edge map: %w", err)
		}
		src = fitted
	}
	return Canny(src, opt), nil
}

// EdgeTensor is EdgeMap converted with ImageTensor; the map comes back too
// for the panel's preview.
func EdgeTensor(src image.Image, w, h int, opt CannyOptions) ([]float32, *image.Gray, error) {
	edges, err := EdgeMap(src, w, h, opt)
	if err != nil {
		return nil, nil, err
	}
	return ImageTensor(edges), edges, nil
}
