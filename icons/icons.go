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

// star.svg is the Material Design "star" icon (Apache License 2.0), the
// same family as Fyne's own icons; it marks favourites.
//
//go:embed star.svg
var starSVG []byte

// Star marks favourites (use it through theme.NewThemedResource or
// theme.NewPrimaryThemedResource so it takes the theme's colour).
var Star = fyne.NewStaticResource("star.svg", starSVG)
