package gui

import (
	"fmt"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// DiagnosticsView shows which ONNX Runtime and provider run the models, why
// CUDA is not in use when it is not, and where the library is stored.
type DiagnosticsView struct {
	backend   DiagnosticsSource
	clipboard fyne.Clipboard

	statusIcon *widget.Icon
	status     *widget.Label
	values     map[string]*widget.Label
	recheck    *widget.Button
	copyBtn    *widget.Button
	root       fyne.CanvasObject
	last       service.Diagnostics
}

// DiagnosticsSource reports what runs the models (core/service.Service).
type DiagnosticsSource interface {
	Diagnostics() service.Diagnostics
}

// Rows of the view, in display order.
var diagnosticsRows = []string{"Application", "Platform", "ONNX Runtime", "Library",
	"Provider", "Why not CUDA", "To use a GPU", "Data folder"}

// NewDiagnosticsView builds the view; call Refresh to fill it.
func NewDiagnosticsView(b DiagnosticsSource, cb fyne.Clipboard) *DiagnosticsView {
	v := &DiagnosticsView{backend: b, clipboard: cb, values: map[string]*widget.Label{}}
	v.statusIcon = widget.NewIcon(theme.InfoIcon())
	v.status = widget.NewLabelWithStyle("Checking ONNX Runtime…", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	v.status.Wrapping = fyne.TextWrapWord
	form := widget.NewForm()
	for _, k := range diagnosticsRows {
		l := widget.NewLabel("…")
		l.Wrapping = fyne.TextWrapBreak
		l.Selectable = true
		v.values[k] = l
		form.Append(k, l)
	}
	v.recheck = widget.NewButtonWithIcon("Check again", theme.ViewRefreshIcon(), v.Refresh)
	v.copyBtn = widget.NewButtonWithIcon("Copy report", theme.ContentCopyIcon(), v.copyReport)
	v.copyBtn.Disable()
	card := widget.NewCard("Diagnostics", "What runs your models, and where your library lives",
		container.NewVBox(
			container.NewBorder(nil, nil, v.statusIcon, nil, v.status),
			widget.NewSeparator(),
			form,
			container.NewHBox(v.recheck, v.copyBtn),
		))
	v.root = card
	return v
}

// Object is the view's root widget.
func (v *DiagnosticsView) Object() fyne.CanvasObject { return v.root }

// Refresh asks the backend again, off the UI goroutine (loading ONNX
// Runtime and probing CUDA can take a moment).
func (v *DiagnosticsView) Refresh() {
	v.recheck.Disable()
	v.status.SetText("Checking ONNX Runtime…")
	go func() {
		d := v.backend.Diagnostics()
		onUI(func() { v.show(d) })
	}()
}

func (v *DiagnosticsView) show(d service.Diagnostics) {
	v.last = d
	set := func(k, s string) {
		if s == "" {
			s = "—"
		}
		v.values[k].SetText(s)
	}
	set("Application", d.App)
	set("Platform", d.Platform)
	if d.ORTError != "" {
		set("ONNX Runtime", "not loaded")
		set("Library", d.ORTError)
	} else {
		set("ONNX Runtime", d.ORTVersion)
		set("Library", fmt.Sprintf("%s (%s)", d.ORTLibrary, d.ORTSource))
	}
	set("Provider", fmt.Sprintf("%s — requested: %s", d.Provider, d.Requested))
	switch {
	case d.ProviderError != "":
		set("Why not CUDA", d.ProviderError)
	case d.Provider == "CPU":
		set("Why not CUDA", d.ProviderReason)
	default:
		set("Why not CUDA", "CUDA is in use")
	}
	set("To use a GPU", d.ProviderHint)
	set("Data folder", d.DataDir)

	switch {
	case d.ORTError != "":
		v.statusIcon.SetResource(theme.ErrorIcon())
		v.status.SetText("ONNX Runtime could not be loaded, so no model can run. See “Library” for the fix.")
	case d.ProviderError != "":
		v.statusIcon.SetResource(theme.ErrorIcon())
		v.status.SetText("The requested provider cannot be used.")
	case d.Provider == "CPU":
		v.statusIcon.SetResource(theme.WarningIcon())
		v.status.SetText("Ready — models run on the CPU (slower than a GPU).")
	default:
		v.statusIcon.SetResource(theme.ConfirmIcon())
		v.status.SetText("Ready — models run on the GPU.")
	}
	v.recheck.Enable()
	v.copyBtn.Enable()
}

func (v *DiagnosticsView) copyReport() {
	if v.clipboard != nil {
		v.clipboard.SetContent(v.last.Text())
	}
}
