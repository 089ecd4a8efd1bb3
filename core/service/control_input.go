package service

import (
	"fmt"
	"image"

	"github.com/oneactor/oneactor-desktop/core/control"
	"github.com/oneactor/oneactor-desktop/core/diffusion"
	"github.com/oneactor/oneactor-desktop/core/imageio"
)

// Control kinds.
const (
	ControlPose  = "pose"
	ControlEdges = "edges"
)

// controlInput builds the engine's conditioning for a job at the output
// size: a pose is rendered there (the skeleton exactly as the ControlNet
// was trained on), a picture's edges are found there (one output pixel
// wide). The conditioning image comes back too, to be kept with the
// recipe.
func controlInput(c *ControlSettings, w, h int) (*diffusion.Control, image.Image, error) {
	if c == nil {
		return nil, nil, nil
	}
	var px []float32
	var img image.Image
	switch c.Kind {
	case ControlPose:
		p, _, err := control.DecodeOpenPose(c.Pose, control.DecodeOptions{CanvasWidth: w, CanvasHeight: h})
		if err != nil {
			return nil, nil, fmt.Errorf("pose: %w", err)
		}
		rgba, err := control.Render(p, w, h)
		if err != nil {
			return nil, nil, fmt.Errorf("pose: %w", err)
		}
		px, img = control.ImageTensor(rgba), rgba
	case ControlEdges:
		src, _, err := imageio.DecodeBytes(c.Image)
		if err != nil {
			return nil, nil, fmt.Errorf("edges picture: %w", err)
		}
		opt := control.DefaultCanny()
		opt.Low, opt.High = c.Low, c.High
		t, edges, err := control.EdgeTensor(src, w, h, opt)
		if err != nil {
			return nil, nil, fmt.Errorf("edges: %w", err)
		}
		px, img = t, edges
	default:
		return nil, nil, fmt.Errorf("unknown conditioning %q", c.Kind)
	}
	end := c.End
	if end == 0 {
		end = 1
	}
	return &diffusion.Control{Image: px, Scale: c.Scale, Start: c.Start, End: end}, img, nil
}
