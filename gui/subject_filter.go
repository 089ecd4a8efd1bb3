package gui

import (
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// allSubjects is the subject filter's "no filter" choice.
const allSubjects = "Any subject"

// newSubjectFilter is the gallery's subject filter: only the pictures
// drawn with the chosen subject.
func newSubjectFilter(g *GalleryView) *widget.Select {
	s := widget.NewSelect([]string{allSubjects}, nil)
	s.Selected = allSubjects
	s.OnChanged = func(name string) {
		id := g.subjectIDs[name]
		if g.filter.SubjectID != id {
			g.filter.SubjectID = id
			g.Reload()
		}
	}
	return s
}

// SetSubjects offers the subjects in the filter; a filter on a subject
// that is gone is dropped.
func (g *GalleryView) SetSubjects(list []service.SubjectInfo) {
	names, ids := subjectNames(list)
	g.subjectIDs = map[string]string{allSubjects: ""}
	chosen := allSubjects
	for k, n := range names {
		g.subjectIDs[n] = ids[k]
		if ids[k] == g.filter.SubjectID {
			chosen = n
		}
	}
	g.subjectSel.Options = append([]string{allSubjects}, names...)
	if chosen == allSubjects && g.filter.SubjectID != "" {
		g.subjectSel.SetSelected(allSubjects) // reloads
	} else {
		g.subjectSel.Selected = chosen
		g.subjectSel.Refresh()
	}
}

// ShowSubject filters the gallery to the pictures drawn with subject id.
func (g *GalleryView) ShowSubject(id string) {
	for name, sid := range g.subjectIDs {
		if sid == id {
			g.subjectSel.SetSelected(name)
			return
		}
	}
}

// SubjectFilter is the subject the gallery is filtered by ("" none).
func (g *GalleryView) SubjectFilter() string { return g.filter.SubjectID }
