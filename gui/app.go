// Package gui is the Fyne desktop interface. It holds no model or database
// code: it calls a Backend (core/service) and shows what comes back. Work
// runs on goroutines and reaches widgets only through fyne.Do.
package gui

import (
	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	oneactor "github.com/oneactor/oneactor-desktop"
	"github.com/oneactor/oneactor-desktop/core/service"
	"github.com/oneactor/oneactor-desktop/icons"
)

// Backend is what the GUI needs from the service layer.
type Backend interface {
	Diagnostics() service.Diagnostics
}

// NewApp creates the Fyne application with the identity from FyneApp.toml.
func NewApp() fyne.App {
	info := oneactor.AppInfo()
	app.SetMetadata(fyne.AppMetadata{
		ID:         info.Details.ID,
		Name:       info.Details.Name,
		Version:    info.Details.Version,
		Build:      info.Details.Build,
		Icon:       icons.App,
		Migrations: info.Migrations,
	})
	a := app.NewWithID(info.Details.ID)
	a.SetIcon(icons.App)
	return a
}

// NewMainWindow builds the main window.
func NewMainWindow(a fyne.App, b Backend) fyne.Window {
	name := oneactor.AppInfo().Details.Name
	w := a.NewWindow(name)
	w.SetIcon(icons.App)

	logo := canvas.NewImageFromResource(icons.App)
	logo.FillMode = canvas.ImageFillContain
	logo.SetMinSize(fyne.NewSquareSize(40))
	title := widget.NewLabelWithStyle(name, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	tagline := widget.NewLabel("The same subject in every picture — offline, on your own machine.")
	tagline.Importance = widget.LowImportance
	header := container.NewBorder(nil, widget.NewSeparator(), logo, nil,
		container.NewVBox(title, tagline))

	diag := NewDiagnosticsView(b, a.Clipboard())
	w.SetContent(container.NewBorder(container.NewPadded(header), nil, nil, nil,
		container.NewPadded(container.NewVScroll(diag.Object()))))
	w.Resize(fyne.NewSize(1280, 800))
	diag.Refresh()
	return w
}

// Run opens the main window and blocks until the app quits.
func Run(b Backend) {
	a := NewApp()
	a.Settings().SetTheme(theme.DefaultTheme())
	NewMainWindow(a, b).ShowAndRun()
}
