// Package gui is the Fyne desktop interface. It holds no model or database
// code: it calls the service layer (a Backend, then the Studio it opens)
// and shows what comes back. Work runs on goroutines and reaches widgets
// only through fyne.Do.
package gui

import (
	"os"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/app"
	"fyne.io/fyne/v2/theme"

	oneactor "github.com/oneactor/oneactor-desktop"
	"github.com/oneactor/oneactor-desktop/core/service"
	"github.com/oneactor/oneactor-desktop/icons"
)

// Backend is what the GUI needs from the service layer before a library
// is open (*service.Service).
type Backend interface {
	DiagnosticsSource
	DataDir() string
	// OpenStudio opens the library; a *service.LibraryError explains a
	// refusal.
	OpenStudio() (*service.Studio, error)
	// StartNewLibrary keeps a damaged library file aside and opens a new one.
	StartNewLibrary() (*service.Studio, string, error)
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

// NewMainWindow builds the main window: the studio when the library
// opens, else a screen that explains why not and what to do.
func NewMainWindow(a fyne.App, b Backend) fyne.Window {
	return newMainView(a, b).win
}

// Run opens the main window and blocks until the app quits.
func Run(b Backend) {
	a := NewApp()
	a.Settings().SetTheme(theme.DefaultTheme())
	v := newMainView(a, b)
	stop := startUITrace(os.Getenv(UITraceEnv), v)
	defer stop()
	v.win.ShowAndRun()
}
