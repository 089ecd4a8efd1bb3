package gui

import (
	"fmt"
	"regexp"
	"strings"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// subjectChips sit under the prompt: one chip per active subject (its name
// and base word; warned when the word is missing from the prompt; × takes
// it out) and a "+ Subject" menu. Adding a subject puts its base word into
// the prompt (its base prompt when the prompt is empty), since the
// subject's offsets act on that word.
type subjectChips struct {
	panel  *GeneratePanel
	active []service.SubjectInfo
	all    []service.SubjectInfo
	// problems says, per subject id, why it cannot be drawn with the
	// model chosen (tuned for another one); checked off the UI goroutine.
	problems map[string]string
	checkSeq int
	addBtn   *widget.Button
	box      *fyne.Container
	root     fyne.CanvasObject
}

func newSubjectChips(p *GeneratePanel) *subjectChips {
	c := &subjectChips{panel: p}
	c.addBtn = widget.NewButtonWithIcon("Subject", theme.ContentAddIcon(), c.showMenu)
	c.addBtn.Importance = widget.LowImportance
	c.box = container.New(&flowLayout{})
	c.root = c.box
	prev := p.prompt.OnChanged
	p.prompt.OnChanged = func(s string) {
		if prev != nil {
			prev(s)
		}
		c.refresh()
	}
	c.refresh()
	return c
}

// Object is the chips' row.
func (c *subjectChips) Object() fyne.CanvasObject { return c.root }

// SetSubjects takes the subject list (after a reload): active subjects are
// renamed or dropped to match.
func (c *subjectChips) SetSubjects(all []service.SubjectInfo) {
	c.all = all
	c.CheckModel()
	var keep []service.SubjectInfo
	for _, a := range c.active {
		for _, s := range all {
			if s.ID == a.ID {
				keep = append(keep, s)
			}
		}
	}
	c.active = keep
	c.refresh()
}

// Active are the subjects the next generation draws.
func (c *subjectChips) Active() []service.SubjectInfo { return c.active }

// Uses are the active subjects for a recipe (with their guidance).
func (c *subjectChips) Uses() []service.SubjectUse {
	var out []service.SubjectUse
	for _, s := range c.active {
		out = append(out, service.SubjectUse{ID: s.ID, Name: s.Name, BaseWord: s.BaseWord, Guidance: s.Guidance})
	}
	return out
}

// Add activates subject id and puts its base word into the prompt.
func (c *subjectChips) Add(id string) {
	var s service.SubjectInfo
	found := false
	for _, x := range c.all {
		if x.ID == id {
			s, found = x, true
		}
	}
	if !found {
		c.panel.main.subj.Reload(func() {
			if _, ok := c.panel.main.subj.find(id); ok {
				c.Add(id)
			}
		})
		return
	}
	if p := c.problems[id]; p != "" {
		c.panel.main.Notify(p)
		return
	}
	for _, a := range c.active {
		if a.ID == id {
			c.insertWord(s)
			return
		}
	}
	c.active = append(c.active, s)
	c.insertWord(s)
	c.refresh()
	c.panel.main.Notify(fmt.Sprintf("%s is in the prompt: it is drawn wherever the prompt says “%s”", s.Name, s.BaseWord))
}

// Remove deactivates subject id (the prompt is left as it is).
func (c *subjectChips) Remove(id string) {
	for k, a := range c.active {
		if a.ID == id {
			c.active = append(c.active[:k:k], c.active[k+1:]...)
			c.refresh()
			return
		}
	}
}

// Set activates exactly the recipe's subjects that still exist ("reuse
// settings"): by id, or by name for a picture from elsewhere (its PNG
// text names them). It returns the names it could not find.
func (c *subjectChips) Set(uses []service.SubjectUse) (missing []string) {
	c.active = nil
	for _, u := range uses {
		found := false
		for _, s := range c.all {
			if !found && (u.ID != "" && s.ID == u.ID || u.ID == "" && strings.EqualFold(s.Name, u.Name) && !s.Incompatible) {
				c.active = append(c.active, s)
				found = true
			}
		}
		if !found {
			missing = append(missing, u.Name)
		}
	}
	c.refresh()
	return missing
}

// CheckModel learns which subjects cannot be drawn with the chosen model
// (after the subject list or the model changes).
func (c *subjectChips) CheckModel() {
	c.checkSeq++
	seq, ref, all := c.checkSeq, c.panel.model.Ref, c.all
	if ref == "" {
		return
	}
	go func() {
		problems := map[string]string{}
		for _, s := range all {
			if p := c.panel.studio.SubjectProblem(s.ID, ref); p != "" {
				problems[s.ID] = p
			}
		}
		onUI(func() {
			if seq == c.checkSeq {
				c.problems = problems
				c.refresh()
			}
		})
	}()
}

// hasWord reports whether text holds word as a whole word.
func hasWord(text, word string) bool {
	if word == "" {
		return false
	}
	re, err := regexp.Compile(`(?i)(^|[^\pL\pN])` + regexp.QuoteMeta(word) + `($|[^\pL\pN])`)
	return err == nil && re.MatchString(text)
}

// insertWord puts the subject's word into the prompt at the cursor (its
// base prompt into an empty prompt); nothing when it is there already.
func (c *subjectChips) insertWord(s service.SubjectInfo) {
	e := c.panel.prompt
	text := e.Text
	if hasWord(text, s.BaseWord) {
		return
	}
	if strings.TrimSpace(text) == "" {
		e.SetText(s.BasePrompt)
		return
	}
	pos := cursorOffset(text, e.CursorRow, e.CursorColumn)
	r := []rune(text)
	ins := s.BaseWord
	if pos > 0 && r[pos-1] != ' ' {
		ins = " " + ins
	}
	if pos < len(r) && r[pos] != ' ' {
		ins += " "
	}
	e.SetText(string(r[:pos]) + ins + string(r[pos:]))
	e.CursorRow, e.CursorColumn = rowCol([]rune(e.Text), pos+len([]rune(ins)))
	e.Refresh()
}

// cursorOffset turns an entry's row and column into a rune offset.
func cursorOffset(text string, row, col int) int {
	r := []rune(text)
	line, off := 0, 0
	for off < len(r) && line < row {
		if r[off] == '\n' {
			line++
		}
		off++
	}
	return min(off+col, len(r))
}

func rowCol(r []rune, pos int) (row, col int) {
	for _, x := range r[:pos] {
		if x == '\n' {
			row, col = row+1, 0
		} else {
			col++
		}
	}
	return row, col
}

// refresh redraws the chips.
func (c *subjectChips) refresh() {
	var objs []fyne.CanvasObject
	for _, s := range c.active {
		id := s.ID
		label := fmt.Sprintf("%s · “%s”", s.Name, s.BaseWord)
		chip := widget.NewButtonWithIcon(label, theme.CancelIcon(), func() { c.Remove(id) })
		chip.IconPlacement = widget.ButtonIconTrailingText
		chip.Importance = widget.HighImportance
		switch {
		case c.problems[id] != "":
			chip.Importance = widget.DangerImportance
			chip.SetText(fmt.Sprintf("%s · other model", s.Name))
		case !hasWord(c.panel.prompt.Text, s.BaseWord):
			chip.Importance = widget.WarningImportance
			chip.SetText(fmt.Sprintf("%s · “%s” missing", s.Name, s.BaseWord))
		}
		objs = append(objs, chip)
	}
	if len(c.all) > 0 {
		objs = append(objs, c.addBtn)
	}
	c.box.Objects = objs
	c.box.Refresh()
}

// showMenu offers the subjects not yet active.
func (c *subjectChips) showMenu() {
	var items []*fyne.MenuItem
	for _, s := range c.all {
		active := false
		for _, a := range c.active {
			active = active || a.ID == s.ID
		}
		if active || s.Incompatible {
			continue
		}
		id := s.ID
		item := fyne.NewMenuItem(fmt.Sprintf("%s (“%s”)", s.Name, s.BaseWord), func() { c.Add(id) })
		if c.problems[id] != "" {
			item.Label = fmt.Sprintf("%s (tuned for another model)", s.Name)
			item.Disabled = true
		}
		items = append(items, item)
	}
	if len(items) == 0 {
		items = append(items, fyne.NewMenuItem("No other subjects", nil))
		items[0].Disabled = true
	}
	cv := fyne.CurrentApp().Driver().CanvasForObject(c.addBtn)
	if cv == nil {
		return
	}
	pos := fyne.CurrentApp().Driver().AbsolutePositionForObject(c.addBtn).AddXY(0, c.addBtn.Size().Height)
	widget.ShowPopUpMenuAtPosition(fyne.NewMenu("", items...), cv, pos)
}

// flowLayout places objects left to right at their minimum size, wrapping
// to a new row when the width runs out.
type flowLayout struct {
	width float32 // the width of the last layout: rows are counted at it
}

func (l *flowLayout) rows(objs []fyne.CanvasObject, width float32) (pos []fyne.Position, h float32) {
	pad := theme.Padding()
	var x, y, rowH float32
	for _, o := range objs {
		if !o.Visible() {
			pos = append(pos, fyne.Position{})
			continue
		}
		m := o.MinSize()
		if x > 0 && x+m.Width > width {
			x, y, rowH = 0, y+rowH+pad, 0
		}
		pos = append(pos, fyne.NewPos(x, y))
		x += m.Width + pad
		rowH = max(rowH, m.Height)
	}
	return pos, y + rowH
}

func (l *flowLayout) Layout(objs []fyne.CanvasObject, size fyne.Size) {
	l.width = size.Width
	pos, _ := l.rows(objs, size.Width)
	for k, o := range objs {
		o.Move(pos[k])
		o.Resize(o.MinSize())
	}
}

func (l *flowLayout) MinSize(objs []fyne.CanvasObject) fyne.Size {
	var w float32
	for _, o := range objs {
		if o.Visible() {
			w = max(w, o.MinSize().Width)
		}
	}
	_, h := l.rows(objs, max(w, l.width))
	return fyne.NewSize(w, h)
}
