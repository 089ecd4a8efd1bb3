package gui

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"slices"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"
)

// lossPlot draws a tuning loss curve: every step's loss (faint; it is
// noisy, each step draws its own timesteps) and a running average (bold),
// over the whole step budget so the curve grows left to right while
// tuning runs.
type lossPlot struct {
	values []float64
	total  int // steps planned (x axis); 0: len(values)

	raster *canvas.Raster
	top    *widget.Label
	bottom *widget.Label
	root   fyne.CanvasObject
}

func newLossPlot(height float32) *lossPlot {
	p := &lossPlot{}
	p.raster = canvas.NewRaster(p.draw)
	p.raster.SetMinSize(fyne.NewSize(240, height))
	p.top = widget.NewLabel("")
	p.bottom = widget.NewLabel("")
	for _, l := range []*widget.Label{p.top, p.bottom} {
		l.Importance = widget.LowImportance
		l.SizeName = theme.SizeNameCaptionText
	}
	bg := canvas.NewRectangle(theme.Color(theme.ColorNameInputBackground))
	bg.CornerRadius = theme.InputRadiusSize()
	axis := container.NewBorder(p.top, p.bottom, nil, nil)
	p.root = container.NewBorder(nil, nil, axis, nil, container.NewStack(bg, p.raster))
	return p
}

// Object is the plot's root.
func (p *lossPlot) Object() fyne.CanvasObject { return p.root }

// Set shows values out of total planned steps.
func (p *lossPlot) Set(values []float64, total int) {
	p.values, p.total = values, total
	lo, hi := p.bounds()
	if len(values) == 0 {
		p.top.SetText("")
		p.bottom.SetText("")
	} else {
		p.top.SetText(fmt.Sprintf("%.3g", hi))
		p.bottom.SetText(fmt.Sprintf("%.3g", lo))
	}
	p.raster.Refresh()
}

// bounds is the y range: the lowest loss up to a high percentile, so a
// few spikes (steps that drew a large t) do not flatten the trend; higher
// values are drawn at the top edge.
func (p *lossPlot) bounds() (lo, hi float64) {
	if len(p.values) == 0 {
		return 0, 1
	}
	lo, hi = slices.Min(p.values), percentile95(p.values)
	if hi-lo < 1e-9 {
		hi = lo + 1e-9
	}
	return lo, hi
}

// lastAverage is the trend's loss at the end of a curve.
func lastAverage(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	return trend(v)[len(v)-1]
}

func percentile95(v []float64) float64 {
	sorted := slices.Clone(v)
	slices.Sort(sorted)
	return sorted[min(len(sorted)-1, int(float64(len(sorted))*0.95))]
}

// trend is the curve under the noise: the running average of the losses
// with the top 5 % clipped, so one spike does not bend it.
func trend(v []float64) []float64 {
	if len(v) == 0 {
		return nil
	}
	hi := percentile95(v)
	clipped := make([]float64, len(v))
	for i, x := range v {
		clipped[i] = math.Min(x, hi)
	}
	return smooth(clipped)
}

// smooth is an exponential moving average (the trend under the noise).
func smooth(v []float64) []float64 {
	out := make([]float64, len(v))
	var a float64
	for i, x := range v {
		// A running mean at first, then an average over about the last 12 steps.
		a += math.Max(1/float64(i+1), 0.08) * (x - a)
		out[i] = a
	}
	return out
}

func (p *lossPlot) draw(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	n := len(p.values)
	if n == 0 || w < 4 || h < 4 {
		return img
	}
	total := max(p.total, n, 2)
	lo, hi := p.bounds()
	pad := 4
	x := func(i int) float64 { return float64(pad) + float64(i)/float64(total-1)*float64(w-2*pad) }
	y := func(v float64) float64 { return float64(pad) + (hi-math.Min(v, hi))/(hi-lo)*float64(h-2*pad) }
	grid := color.NRGBA{128, 128, 128, 60}
	for k := 1; k < 4; k++ {
		yy := pad + k*(h-2*pad)/4
		for xx := pad; xx < w-pad; xx += 3 {
			img.Set(xx, yy, grid)
		}
	}
	pr, pg, pb, _ := theme.Color(theme.ColorNamePrimary).RGBA()
	faint := color.NRGBA{uint8(pr >> 8), uint8(pg >> 8), uint8(pb >> 8), 90}
	bold := color.NRGBA{uint8(pr >> 8), uint8(pg >> 8), uint8(pb >> 8), 255}
	polyline(img, p.values, x, y, faint, 1)
	polyline(img, trend(p.values), x, y, bold, 2)
	return img
}

func polyline(img *image.NRGBA, v []float64, x func(int) float64, y func(float64) float64, c color.NRGBA, width int) {
	if len(v) == 1 {
		dot(img, x(0), y(v[0]), c, width+1)
		return
	}
	for i := 1; i < len(v); i++ {
		x0, y0, x1, y1 := x(i-1), y(v[i-1]), x(i), y(v[i])
		steps := int(math.Max(math.Abs(x1-x0), math.Abs(y1-y0))) + 1
		for s := 0; s <= steps; s++ {
			t := float64(s) / float64(steps)
			dot(img, x0+(x1-x0)*t, y0+(y1-y0)*t, c, width)
		}
	}
}

func dot(img *image.NRGBA, fx, fy float64, c color.NRGBA, width int) {
	cx, cy := int(math.Round(fx)), int(math.Round(fy))
	for dy := 0; dy < width; dy++ {
		for dx := 0; dx < width; dx++ {
			px, py := cx+dx-width/2, cy+dy-width/2
			if image.Pt(px, py).In(img.Rect) {
				old := img.NRGBAAt(px, py)
				if old.A < c.A {
					img.SetNRGBA(px, py, c)
				}
			}
		}
	}
}
