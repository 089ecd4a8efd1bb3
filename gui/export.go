package gui

import (
	"fmt"
	"os"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// exportFile exports an item to path. The save dialog has already created
// (and the user agreed to overwrite) the file; it is removed first only
// when it is empty, so a real picture of the same name is never lost.
func exportFile(st *service.Studio, id, path string, replace bool) error {
	if replace {
		if fi, err := os.Stat(path); err == nil && fi.Size() == 0 {
			if err := os.Remove(path); err != nil {
				return fmt.Errorf("replace %s: %w", path, err)
			}
		}
	}
	return st.Export(id, path)
}
