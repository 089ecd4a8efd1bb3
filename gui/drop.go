package gui

import (
	"fmt"
	"path/filepath"

	"fyne.io/fyne/v2/dialog"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// HandleDrop deals with files dropped on the window (or chosen with
// Import): each is inspected off the UI goroutine, then pictures are
// imported as references, a PNG with a recipe offers to reuse it, a folder
// offers to be added as a model, and anything else gets a notice in the
// status bar (never a blocking dialog: a drop of many files must not pile
// up dialogs).
func (v *MainView) HandleDrop(paths []string) {
	// A picture dropped while the conditioning tab is open is meant for
	// its edges, not for the references.
	forEdges := v.tabs.Selected() != nil && v.tabs.SelectedIndex() == 1
	single := len(paths) == 1
	for _, p := range paths {
		go func() {
			d := service.InspectDrop(p)
			switch {
			case forEdges && (d.Kind == service.DropImage || d.Kind == service.DropRecipeImage):
				onUI(func() { v.cond.OpenEdgePicture(p) })
			case d.Kind == service.DropImage || d.Kind == service.DropRecipeImage:
				it, err := v.studio.ImportReference(p)
				onUI(func() {
					v.imported(d, it, err)
					if err == nil && single {
						v.offerSubject(it) // subject_drop.go
					}
				})
			default:
				onUI(func() { v.dropped(d) })
			}
		}()
	}
}

// imported runs on the UI goroutine after a picture was imported.
func (v *MainView) imported(d service.Dropped, it service.Item, err error) {
	name := filepath.Base(d.Path)
	if err != nil {
		v.Notify(fmt.Sprintf("%s was not imported: %v", name, err))
		return
	}
	v.refs.Reload()
	v.Notify(fmt.Sprintf("Imported %s as a reference picture", name))
	if d.Kind == service.DropRecipeImage {
		v.offerRecipe(name, d.Recipe)
	}
}

// offerRecipe asks whether to put a dropped picture's settings into the
// generation panel.
func (v *MainView) offerRecipe(name string, r service.Recipe) {
	msg := fmt.Sprintf("%s carries the settings it was made with:\n\n“%s”\nseed %d, %d steps, %s.\n\nReuse these settings in the generation panel?",
		name, ellipsis(r.Prompt, 120), r.Seed, r.Steps, r.Sampler)
	dialog.ShowConfirm("Reuse these settings?", msg, func(ok bool) {
		if ok {
			v.panel.Apply(r)
		}
	}, v.win)
}

// dropped runs on the UI goroutine for a drop that is not a picture.
func (v *MainView) dropped(d service.Dropped) {
	name := filepath.Base(d.Path)
	switch d.Kind {
	case service.DropModelFolder:
		dialog.ShowConfirm("Add this model?", fmt.Sprintf("Add the folder %s to your models?", d.Path), func(ok bool) {
			if ok {
				v.addModelFolder(d.Path, nil)
			}
		}, v.win)
	case service.DropPose:
		if err := v.cond.LoadPoseFile(d.Path); err != nil {
			v.Notify(fmt.Sprintf("%s is not an OpenPose file the editor can read: %v", name, err))
			return
		}
		v.tabs.SelectIndex(1)
		v.Notify(fmt.Sprintf("Loaded the pose from %s", name))
	default:
		v.Notify(d.Problem)
	}
}

// addModelFolder validates and adds a model folder, showing the loader's
// own error when it cannot be used; done (if not nil) gets the outcome.
func (v *MainView) addModelFolder(dir string, done func(error)) {
	go func() {
		info, err := v.studio.AddModelFolder(dir)
		onUI(func() {
			if done != nil {
				done(err)
			}
			if err != nil {
				v.ShowError(fmt.Sprintf("%s cannot be used as a model", filepath.Base(dir)), err)
				return
			}
			v.Notify(fmt.Sprintf("Added %s (%s)", info.Name, info.Family))
			v.panel.LoadModels()
		})
	}()
}

func ellipsis(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
