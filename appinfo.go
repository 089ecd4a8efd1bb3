// Package oneactor carries the app's identity, read from FyneApp.toml so the
// file the fyne packager uses and what the binary reports never disagree.
package oneactor

import (
	_ "embed"
	"fmt"

	"github.com/BurntSushi/toml"
)

//go:embed FyneApp.toml
var fyneAppTOML []byte

// Info is the [Details] and [Migrations] of FyneApp.toml.
type Info struct {
	Details struct {
		Name    string
		ID      string
		Version string
		Build   int
		Icon    string
	}
	Migrations map[string]bool
}

// AppInfo returns the parsed FyneApp.toml. The file is embedded at build
// time, so an error here is a broken build, checked by a test.
func AppInfo() Info {
	info, err := parseInfo(fyneAppTOML)
	if err != nil {
		panic(err)
	}
	return info
}

func parseInfo(data []byte) (Info, error) {
	var info Info
	if _, err := toml.Decode(string(data), &info); err != nil {
		return Info{}, fmt.Errorf("FyneApp.toml: %w", err)
	}
	if info.Details.Name == "" || info.Details.ID == "" || info.Details.Version == "" {
		return Info{}, fmt.Errorf("FyneApp.toml: [Details] needs Name, ID and Version")
	}
	return info, nil
}
