//go:build ci

package gui

import (
	"slices"
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"
)

// TestResponsiveDuringGeneration taps a button over and over while a job
// sends progress and preview updates, and measures the time from each tap
// to its handler: the wait for the UI to be free of the job's updates.
func TestResponsiveDuringGeneration(t *testing.T) {
	v, _ := testMain(t)
	p := v.panel
	ui(func() {
		p.prompt.SetText("a long batch")
		p.steps.SetText("500")
		p.batch.SetText("8")
		test.Tap(p.generate)
	})
	waitLong(t, "the job to run", func() bool { return strings.Contains(p.stepText.Text, "Step") })

	var lat []time.Duration
	var handled time.Time
	btn := v.gallery.show
	btn.OnChanged = func(string) { handled = time.Now() }
	choices := []string{showFavourites, showAll}
	steps := 0
	for i := 0; i < 200 && locked(func() bool { return p.running != "" }); i++ {
		t0 := time.Now()
		ui(func() {
			btn.SetSelected(choices[i%2])
			if len(p.jobs) > 0 {
				steps = p.jobs[0].Step
			}
		})
		lat = append(lat, handled.Sub(t0))
		time.Sleep(5 * time.Millisecond)
	}
	ui(func() { test.Tap(p.cancel) })
	if len(lat) < 20 {
		t.Fatalf("only %d taps while the job ran", len(lat))
	}
	slices.Sort(lat)
	p95 := lat[len(lat)*95/100]
	t.Logf("%d taps during generation (job at step %d): tap→handler p50 %v, p95 %v, max %v",
		len(lat), steps, lat[len(lat)/2], p95, lat[len(lat)-1])
	if p95 > 50*time.Millisecond {
		t.Errorf("tap→handler p95 %v > 50 ms", p95)
	}
}
