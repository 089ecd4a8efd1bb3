package service

import (
	"fmt"

	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/imageio"
)

// controlInput decodes a job's control image and fits it to the output
// size as the engine wants it: [3, H, W] in [0, 1].
func controlInput(c *ControlSettings, w, h int) (*diffusion.Control, error) {
	if c == nil {
		return nil, nil
	}
	img, _, err := imageio.DecodeBytes(c.Image)
	if err != nil {
		return nil, fmt.Errorf("%s control image: %w", c.Kind, err)
	}
	fit, err := imageio.Fill(img, w, h)
	if err != nil {
		return nil, fmt.Errorf("%s control image: %w", c.Kind, err)
	}
	px := make([]float32, 3*w*h)
	for i := 0; i < w*h; i++ {
		for ch := 0; ch < 3; ch++ {
			px[ch*w*h+i] = float32(fit.Pix[i*4+ch]) / 255
		}
	}
	end := c.End
	if end == 0 {
		end = 1
	}
	return &diffusion.Control{Image: px, Scale: c.Scale, Start: c.Start, End: end}, nil
}
