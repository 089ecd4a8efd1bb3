// Package icons holds the app's bundled images.
package icons

import (
	_ "embed"

	"fyne.io/fyne/v2"
)

//go:embed icon.png
var iconPNG []byte

// App is the application icon (window, task bar, about box).
var App = fyne.NewStaticResource("icon.png", iconPNG)
