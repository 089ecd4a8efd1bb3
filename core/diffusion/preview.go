package diffusion

import (
	"image"
	"math"
)

// previews maps the sampler's current clean-latent estimate to small RGB
// images with the model's linear latent→RGB factors: cheap enough to run
// every few steps (no VAE), one pixel per latent.
func (e *Engine) previews(denoised []float32, n, h, w int) []*image.RGBA {
	m := e.Model
	C := int(m.LatentChannels)
	per := C * h * w
	out := make([]*image.RGBA, n)
	for k := 0; k < n; k++ {
		z := denoised[k*per : (k+1)*per]
		img := image.NewRGBA(image.Rect(0, 0, w, h))
		for p := 0; p < h*w; p++ {
			for c := 0; c < 3; c++ {
				v := m.LatentRGBBias[c]
				for ch := 0; ch < C; ch++ {
					v += z[ch*h*w+p] * m.LatentRGB[ch][c]
				}
				img.Pix[p*4+c] = uint8(math.Round(math.Max(0, math.Min(1, float64(v+1)/2)) * 255))
			}
			img.Pix[p*4+3] = 255
		}
		out[k] = img
	}
	return out
}
