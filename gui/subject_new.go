package gui

import (
	"errors"
	"fmt"
	"image"
	"image/color"
	"strconv"
	"strings"
	"time"
	"unicode"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// Defaults of the "New subject" flow (the method's: 1 target + 10
// auxiliaries, 200 tuning steps).
const (
	defaultCandidates = 11
	defaultTuneSteps  = 200
)

// NewSubjectView is the "New subject" flow: describe (base prompt, base
// word checked against the model's tokenizer), cast a batch of candidates,
// pick the target, tune (progress, loss, ETA, live loss plot, cancel),
// ready. Made of a reference picture, the picture is the fixed target and
// only the auxiliaries are cast.
type NewSubjectView struct {
	main    *MainView
	photoID string
	model   string // model ref the flow casts with

	name       *widget.Entry
	basePrompt *widget.Entry
	baseWord   *widget.Entry
	wordNote   *widget.Label
	suggest    *fyne.Container
	count      *widget.Entry
	steps      *widget.Entry
	lowMemory  *widget.Check
	castBtn    *widget.Button
	moreBtn    *widget.Button

	castBar    *widget.ProgressBar
	castRow    *fyne.Container // castText and the "more" button
	castText   *widget.Label
	grid       *fyne.Container
	cells      []*candidateCell
	pickNote   *widget.Label
	casting    *service.Casting
	target     int
	tuneBtn    *widget.Button
	cancelBtn  *widget.Button
	tuneBar    *widget.ProgressBar
	tuneText   *widget.Label
	plot       *lossPlot
	ready      *fyne.Container
	readyLabel *widget.Label

	wordEdited bool // the user typed the base word (do not follow the prompt)
	checkSeq   int  // base-word checks; only the newest applies
	castJob    string
	tuneJob    string
	subjectID  string // the subject made
	wordOK     bool
	// early keeps the last event of subject jobs that arrive while a
	// submit has not yet told the flow its job id (the worker can be
	// faster than that answer).
	early        map[string]service.JobEvent
	root         fyne.CanvasObject
	scroll       *container.Scroll
	step2, step3 fyne.CanvasObject
	unsub        func()
}

// NewNewSubjectView builds the flow for the main view m (photoID: a
// reference picture to make the subject of, or "").
func NewNewSubjectView(m *MainView, photoID string) *NewSubjectView {
	f := &NewSubjectView{main: m, photoID: photoID, model: m.panel.model.Ref, target: -1}
	f.name = widget.NewEntry()
	f.name.SetPlaceHolder("e.g. Rex")
	f.name.OnChanged = func(string) { f.updateButtons() }
	f.basePrompt = widget.NewEntry()
	f.basePrompt.SetPlaceHolder("e.g. a photo of a ceramic mug")
	f.baseWord = widget.NewEntry()
	f.baseWord.SetPlaceHolder("the one word naming the subject, e.g. mug")
	f.basePrompt.OnChanged = func(s string) {
		if !f.wordEdited {
			f.baseWord.OnChanged = nil
			f.baseWord.SetText(lastWord(s))
			f.baseWord.OnChanged = f.wordTyped
		}
		f.checkWord()
	}
	f.baseWord.OnChanged = f.wordTyped
	for _, e := range []*widget.Entry{f.name, f.basePrompt, f.baseWord} {
		e.OnSubmitted = func(string) { f.Cast() } // Enter casts (once the word is checked)
	}
	f.wordNote = widget.NewLabel("")
	f.wordNote.Wrapping = fyne.TextWrapWord
	f.suggest = container.NewHBox()
	f.count = numberEntry(strconv.Itoa(defaultCandidates))
	f.steps = numberEntry(strconv.Itoa(defaultTuneSteps))
	f.lowMemory = widget.NewCheck("Low memory: one tuning row per UNet call (slower)", nil)
	f.castBtn = widget.NewButtonWithIcon("Cast candidates", theme.MediaPlayIcon(), f.Cast)
	f.castBtn.Importance = widget.HighImportance
	f.moreBtn = widget.NewButtonWithIcon("4 more", theme.ContentAddIcon(), f.CastMore)
	f.castBar = widget.NewProgressBar()
	f.castBar.Hide()
	f.castText = widget.NewLabel("")
	f.castText.Wrapping = fyne.TextWrapWord
	f.grid = container.NewGridWrap(fyne.NewSquareSize(104))
	f.pickNote = widget.NewLabel("Cast a batch first: the candidates appear here.")
	f.pickNote.Wrapping = fyne.TextWrapWord
	f.pickNote.Importance = widget.LowImportance

	f.tuneBtn = widget.NewButtonWithIcon("Tune", theme.MediaPlayIcon(), f.Tune)
	f.tuneBtn.Importance = widget.HighImportance
	f.cancelBtn = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), f.Cancel)
	f.tuneBar = widget.NewProgressBar()
	f.tuneBar.Hide()
	f.tuneText = widget.NewLabel("")
	f.tuneText.Wrapping = fyne.TextWrapWord
	f.plot = newLossPlot(120)
	f.plot.Object().Hide()
	f.readyLabel = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	open := widget.NewButtonWithIcon("Open its page", theme.NavigateNextIcon(), func() { m.subj.OpenPage(f.subjectID) })
	use := widget.NewButtonWithIcon("Use it in the prompt", theme.ContentAddIcon(), func() { m.panel.chips.Add(f.subjectID) })
	another := widget.NewButtonWithIcon("Another subject", theme.ContentAddIcon(), func() { m.subj.OpenFlow("") })
	f.ready = container.NewVBox(widget.NewSeparator(), f.readyLabel, container.NewHBox(open, use, another))
	f.ready.Hide()

	photoNote := widget.NewLabel("")
	describe := widget.NewForm(
		widget.NewFormItem("Name", f.name),
		widget.NewFormItem("Base prompt", f.basePrompt),
		widget.NewFormItem("Base word", container.NewVBox(f.baseWord, f.wordNote, f.suggest)),
		widget.NewFormItem("Candidates", f.count),
		widget.NewFormItem("Tuning steps", f.steps),
		widget.NewFormItem("", f.lowMemory),
	)
	var photo fyne.CanvasObject = layout.NewSpacer()
	if photoID != "" {
		f.count.SetText(strconv.Itoa(defaultCandidates - 1))
		describe.Items[3].Text = "Auxiliaries"
		photoNote.SetText("The picture is the subject (the target). Describe what it shows: the auxiliaries are cast from the base prompt, and the base word is where the subject's offsets act.")
		photoNote.Wrapping = fyne.TextWrapWord
		img := pictureBox(nil, 96)
		photo = container.NewBorder(nil, nil, img, nil, photoNote)
		go func() {
			pic, err := m.studio.Thumbnail(photoID)
			onUI(func() {
				if err == nil {
					img.Image = pic
					img.Refresh()
				}
			})
		}()
	}
	back := widget.NewButtonWithIcon("Gallery", theme.NavigateBackIcon(), m.showGallery)
	title := widget.NewLabelWithStyle("New subject", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	intro := widget.NewLabel("A subject is one character or object the model then draws the same in every prompt. Cast a batch from a base prompt, pick the one you want, and the app learns it in a few minutes (OneActor: the model itself is not changed).")
	intro.Wrapping = fyne.TextWrapWord
	intro.Importance = widget.LowImportance

	step1 := widget.NewCard("1 · Describe", "", container.NewVBox(photo, describe, container.NewHBox(f.castBtn)))
	f.castRow = container.NewBorder(nil, nil, nil, f.moreBtn, f.castText)
	f.castRow.Hide() // until the first cast
	step2 := widget.NewCard("2 · Pick the target", "", container.NewVBox(f.castBar, f.castRow, f.pickNote, f.grid))
	if photoID != "" {
		step2.SetTitle("2 · Your picture and its auxiliaries")
	}
	step3 := widget.NewCard("3 · Tune", "", container.NewVBox(container.NewHBox(f.tuneBtn, f.cancelBtn), f.tuneBar, f.tuneText, f.plot.Object(), f.ready))
	body := container.NewVBox(intro, step1, step2, step3)
	f.step2, f.step3 = step2, step3
	f.scroll = container.NewVScroll(container.NewPadded(body))
	f.root = container.NewBorder(container.NewPadded(container.NewHBox(back, widget.NewSeparator(), title)), nil, nil, nil, f.scroll)

	if f.model == service.BundledModel { // the demo model draws creatures
		f.basePrompt.SetText("a creature")
	}
	f.unsub = m.studio.Subscribe(func(ev service.JobEvent) { onUI(func() { f.onEvent(ev) }) })
	f.updateButtons()
	return f
}

// Object is the flow's root.
func (f *NewSubjectView) Object() fyne.CanvasObject { return f.root }

// Close stops following jobs (a new flow replaces this one).
func (f *NewSubjectView) Close() {
	if f.unsub != nil {
		f.unsub()
		f.unsub = nil
	}
}

// Busy reports whether a cast or tune of the flow is queued or running.
func (f *NewSubjectView) Busy() bool { return f.castJob != "" || f.tuneJob != "" }

// Done reports whether the flow made its subject.
func (f *NewSubjectView) Done() bool { return f.subjectID != "" }

func (f *NewSubjectView) wordTyped(string) {
	f.wordEdited = true
	f.checkWord()
}

// lastWord guesses the base word: the prompt's last word of letters.
func lastWord(s string) string {
	words := strings.FieldsFunc(s, func(r rune) bool { return !unicode.IsLetter(r) && r != '-' && r != '\'' })
	if len(words) == 0 {
		return ""
	}
	return strings.ToLower(words[len(words)-1])
}

// checkWord asks the model's tokenizer about the base word (off the UI
// goroutine; only the newest answer is shown).
func (f *NewSubjectView) checkWord() {
	f.checkSeq++
	seq, prompt, word := f.checkSeq, strings.TrimSpace(f.basePrompt.Text), strings.TrimSpace(f.baseWord.Text)
	f.wordOK = false
	f.updateButtons()
	if prompt == "" {
		f.showWordProblem(&service.BaseWordProblem{Message: "Write a base prompt: what the model should draw, with the subject's word in it."})
		return
	}
	go func() {
		err := f.main.studio.CheckBaseWord(f.model, prompt, word)
		onUI(func() {
			if seq != f.checkSeq {
				return
			}
			f.wordOK = err == nil
			if err == nil {
				f.wordNote.SetText(fmt.Sprintf("✓ “%s” is one token: the subject's offsets act on it.", word))
				f.wordNote.Importance = widget.SuccessImportance
				f.wordNote.Refresh()
				f.suggest.Objects = nil
				f.suggest.Refresh()
			} else {
				f.showWordProblem(err)
			}
			f.updateButtons()
		})
	}()
}

// showWordProblem explains why the base word cannot be used and offers
// the tokenizer's single-token alternatives as buttons.
func (f *NewSubjectView) showWordProblem(err error) {
	f.wordNote.SetText("✗ " + err.Error())
	f.wordNote.Importance = widget.DangerImportance
	f.wordNote.Refresh()
	f.suggest.Objects = nil
	var p *service.BaseWordProblem
	if errors.As(err, &p) && len(p.Suggestions) > 0 {
		f.suggest.Add(widget.NewLabel("Try:"))
		for _, s := range p.Suggestions {
			f.suggest.Add(widget.NewButton(s, func() { f.useWord(s) }))
		}
	}
	f.suggest.Refresh()
}

// useWord replaces the base word (in the prompt too) with a suggestion.
func (f *NewSubjectView) useWord(s string) {
	old := strings.TrimSpace(f.baseWord.Text)
	f.wordEdited = true
	f.baseWord.OnChanged = nil
	f.baseWord.SetText(s)
	f.baseWord.OnChanged = f.wordTyped
	if old != "" && strings.Contains(f.basePrompt.Text, old) {
		f.basePrompt.SetText(strings.Replace(f.basePrompt.Text, old, s, 1)) // checks again
	} else {
		f.checkWord()
	}
}

func (f *NewSubjectView) updateButtons() {
	setEnabled(f.castBtn, f.wordOK && f.castJob == "" && f.tuneJob == "")
	setEnabled(f.tuneBtn, f.casting != nil && f.target >= 0 && f.castJob == "" && f.tuneJob == "" && f.subjectID == "" &&
		strings.TrimSpace(f.name.Text) != "")
	setEnabled(f.cancelBtn, f.castJob != "" || f.tuneJob != "")
	setEnabled(f.moreBtn, f.casting != nil && f.castJob == "" && f.tuneJob == "" && f.subjectID == "" && len(f.casting.Candidates)+4 <= 32)
	if f.casting == nil {
		f.moreBtn.Hide()
	} else {
		f.moreBtn.Show()
	}
	switch {
	case f.casting == nil:
	case f.target < 0:
		f.tuneText.SetText("Pick the target above.")
	case strings.TrimSpace(f.name.Text) == "" && f.tuneJob == "" && f.subjectID == "":
		f.tuneText.SetText("Give the subject a name (step 1), then press Tune.")
	case f.tuneJob == "" && f.subjectID == "" && strings.HasPrefix(f.tuneText.Text, "Give"):
		f.tuneText.SetText("")
	}
}

func setEnabled(b *widget.Button, on bool) {
	if on {
		b.Enable()
	} else {
		b.Disable()
	}
}

// Cast queues the casting of the candidates.
func (f *NewSubjectView) Cast() {
	if f.castBtn.Disabled() {
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(f.count.Text))
	if f.photoID != "" {
		n++ // the photo is candidate 0
	}
	if err != nil || n < 2 || n > 32 {
		f.main.ShowError("Check the number of candidates", fmt.Errorf("%q: cast between 2 and 32 pictures (11 is the method's: the target and 10 auxiliaries)", f.count.Text))
		return
	}
	req := service.CastRequest{ModelRef: f.model, BasePrompt: strings.TrimSpace(f.basePrompt.Text),
		BaseWord: strings.TrimSpace(f.baseWord.Text), Seed: service.RandomSeed, N: n, PhotoID: f.photoID}
	f.castJob = "…"
	f.casting, f.target = nil, -1
	f.showCandidates()
	f.castBar.SetValue(0)
	f.castBar.Show()
	f.castRow.Show()
	f.castText.SetText("Starting…")
	f.updateButtons()
	f.queue(&f.castJob, f.castBar, f.castText, "The candidates could not be cast", func() (string, error) { return f.main.studio.CastSubject(req) })
}

// CastMore queues 4 more candidates (more auxiliaries, or more to pick
// from); the pick is kept.
func (f *NewSubjectView) CastMore() {
	if f.moreBtn.Disabled() || f.casting == nil {
		return
	}
	castID := f.casting.ID
	f.castJob = "…"
	f.castBar.SetValue(0)
	f.castBar.Show()
	f.castText.SetText("Starting…")
	f.updateButtons()
	f.queue(&f.castJob, f.castBar, f.castText, "More candidates could not be cast", func() (string, error) { return f.main.studio.CastMore(castID, 4) })
}

// Tune queues the tuning of the picked candidate.
func (f *NewSubjectView) Tune() {
	if f.tuneBtn.Disabled() {
		return
	}
	steps, err := strconv.Atoi(strings.TrimSpace(f.steps.Text))
	if err != nil || steps < 1 || steps > 5000 {
		f.main.ShowError("Check the tuning steps", fmt.Errorf("%q: tune between 1 and 5000 steps (200 is the method's)", f.steps.Text))
		return
	}
	req := service.TuneRequest{CastID: f.casting.ID, Target: f.target, Name: strings.TrimSpace(f.name.Text), Steps: steps,
		LowMemory: f.lowMemory.Checked}
	f.tuneJob = "…"
	f.tuneBar.SetValue(0)
	f.tuneBar.Show()
	f.tuneText.SetText("Starting…")
	f.plot.Set(nil, steps)
	f.plot.Object().Show()
	f.updateButtons()
	f.scrollTo(f.step3)
	f.queue(&f.tuneJob, f.tuneBar, f.tuneText, "The subject could not be tuned", func() (string, error) { return f.main.studio.TuneSubject(req) })
}

// queue submits a job off the UI goroutine and, back on it, follows the
// job — or undoes the "Starting…" state and says why it was not queued.
func (f *NewSubjectView) queue(job *string, bar *widget.ProgressBar, text *widget.Label, failure string, submit func() (string, error)) {
	go func() {
		id, err := submit()
		onUI(func() {
			if err != nil {
				*job = ""
				bar.Hide()
				text.SetText("")
				f.updateButtons()
				f.main.ShowError(failure, err)
				return
			}
			*job = id
			f.replay(id)
		})
	}()
}

// Cancel stops the running cast or tune (nothing of it is kept).
func (f *NewSubjectView) Cancel() {
	for _, id := range []string{f.castJob, f.tuneJob} {
		if id != "" && id != "…" {
			go f.main.studio.Cancel(id)
		}
	}
}

// onEvent follows the flow's jobs (UI goroutine).
func (f *NewSubjectView) onEvent(ev service.JobEvent) {
	j := ev.Job
	if (f.castJob == "…" || f.tuneJob == "…") && j.Subject != nil {
		if f.early == nil {
			f.early = map[string]service.JobEvent{}
		}
		f.early[j.ID] = ev
	}
	switch {
	case j.ID == f.castJob:
		f.castEvent(j)
	case j.ID == f.tuneJob:
		f.tuneEvent(j)
	default:
		return
	}
	if j.Finished() {
		f.main.subj.setProgress("")
	}
}

// casting0Name is the subject's name for the progress line.
func (f *NewSubjectView) casting0Name() string {
	if n := strings.TrimSpace(f.name.Text); n != "" {
		return n
	}
	return strings.TrimSpace(f.basePrompt.Text)
}

// replay applies the event of job id that came before its id did.
func (f *NewSubjectView) replay(id string) {
	ev, ok := f.early[id]
	f.early = nil
	if ok {
		f.onEvent(ev)
	}
}

func (f *NewSubjectView) castEvent(j service.Job) {
	switch j.State {
	case service.JobRunning:
		if j.Total > 0 {
			f.castBar.SetValue(float64(j.Step) / float64(j.Total))
			f.castText.SetText(fmt.Sprintf("Casting: step %d/%d", j.Step, j.Total))
			f.main.subj.setProgress(fmt.Sprintf("Casting “%s”: %d%%", f.casting0Name(), 100*j.Step/j.Total))
		} else {
			f.castText.SetText("Preparing the model (the first cast reads its UNet once)…")
		}
	case service.JobDone:
		f.castJob = ""
		f.castBar.Hide()
		c, ok := f.main.studio.Casting(j.Subject.CastID)
		if !ok {
			f.castText.SetText("The candidates are no longer kept: cast again.")
			break
		}
		f.casting = c
		if c.Fixed >= 0 {
			f.target = c.Fixed
			f.castText.SetText(fmt.Sprintf("Cast %d auxiliaries (seeds from %d). The picture is the target.", len(c.Candidates)-1, c.Seeds[min(1, len(c.Seeds)-1)]))
		} else {
			f.castText.SetText(fmt.Sprintf("Cast %d candidates (seeds %d–%d). Pick the one that should become the subject: the others teach the model what “any %s” looks like.",
				len(c.Candidates), c.Seeds[0], c.Seeds[len(c.Seeds)-1], c.Request.BaseWord))
		}
		f.showCandidates()
		f.scrollTo(f.step2)
	case service.JobFailed:
		f.castJob = ""
		f.castBar.Hide()
		f.castText.SetText("Casting failed: " + errText(j.Err))
		f.main.ShowError("The candidates could not be cast", j.Err)
	case service.JobCancelled:
		f.castJob = ""
		f.castBar.Hide()
		f.castText.SetText("Cancelled.")
	}
	f.updateButtons()
}

func (f *NewSubjectView) tuneEvent(j service.Job) {
	w := j.Subject
	switch j.State {
	case service.JobRunning:
		if j.Total > 0 {
			f.tuneBar.SetValue(float64(j.Step) / float64(j.Total))
			f.main.subj.setProgress(fmt.Sprintf("Tuning %s: step %d/%d", f.casting0Name(), j.Step, j.Total))
		}
		if w != nil && len(w.Losses) > 0 {
			eta := "estimating the time left"
			if j.ETA > 0 {
				eta = "about " + j.ETA.Round(time.Second).String() + " left"
			}
			f.tuneText.SetText(fmt.Sprintf("Step %d/%d · loss %.4f · %s elapsed · %s", j.Step, j.Total, w.Loss,
				j.Elapsed.Round(100*time.Millisecond), eta))
			f.plot.Set(w.Losses, j.Total)
		} else {
			f.tuneText.SetText("Preparing the gradient model (once per model)…")
		}
	case service.JobDone:
		f.tuneJob = ""
		f.subjectID = w.SubjectID
		f.tuneBar.SetValue(1)
		f.plot.Set(w.Losses, len(w.Losses))
		f.tuneText.SetText(fmt.Sprintf("Tuned %d steps in %s; loss averaged over the last steps %.4f.", len(w.Losses),
			j.Elapsed.Round(100*time.Millisecond), lastAverage(w.Losses)))
		f.readyLabel.SetText(fmt.Sprintf("%s is ready. Put “%s” in a prompt with the subject chosen, and it is drawn as this one.",
			strings.TrimSpace(f.name.Text), f.casting.Request.BaseWord))
		f.ready.Show()
		f.main.subj.Reload(nil)
		f.main.Notify(fmt.Sprintf("The subject %s is ready", strings.TrimSpace(f.name.Text)))
	case service.JobFailed:
		f.tuneJob = ""
		f.tuneBar.Hide()
		f.tuneText.SetText("Tuning failed: " + errText(j.Err))
		f.main.ShowError("The subject could not be tuned", j.Err)
	case service.JobCancelled:
		f.tuneJob = ""
		f.tuneBar.Hide()
		f.plot.Object().Hide()
		f.tuneText.SetText("Cancelled — no subject was saved. Pick again or press Tune.")
	}
	f.updateButtons()
}

// scrollTo scrolls the flow so that o's top shows.
func (f *NewSubjectView) scrollTo(o fyne.CanvasObject) {
	f.scroll.Content.Refresh()
	f.scroll.ScrollToOffset(fyne.NewPos(0, o.Position().Y))
}

// showCandidates fills the grid with the casting's pictures.
func (f *NewSubjectView) showCandidates() {
	f.grid.Objects = nil
	f.cells = nil
	if f.casting == nil {
		f.pickNote.Show()
		f.grid.Refresh()
		return
	}
	f.pickNote.Hide()
	for k, img := range f.casting.Candidates {
		label := fmt.Sprintf("seed %d", f.casting.Seeds[k])
		if k == f.casting.Fixed {
			label = "your picture"
		}
		c := newCandidateCell(img, label, func() { f.Pick(k) })
		c.fixed = f.casting.Fixed >= 0
		f.cells = append(f.cells, c)
		f.grid.Add(c)
	}
	f.markPicked()
}

// Pick makes candidate k the target.
func (f *NewSubjectView) Pick(k int) {
	if f.casting == nil || k < 0 || k >= len(f.casting.Candidates) || f.tuneJob != "" || f.subjectID != "" {
		return
	}
	if f.casting.Fixed >= 0 && k != f.casting.Fixed {
		return
	}
	f.target = k
	f.markPicked()
	f.updateButtons()
}

func (f *NewSubjectView) markPicked() {
	for k, c := range f.cells {
		c.setPicked(k == f.target)
	}
}

// candidateCell is one cast picture; tapping picks it as the target.
type candidateCell struct {
	widget.BaseWidget
	img    *canvas.Image
	label  *widget.Label
	border *canvas.Rectangle
	onTap  func()
	fixed  bool
	picked bool
}

func newCandidateCell(img image.Image, label string, onTap func()) *candidateCell {
	c := &candidateCell{img: pictureBox(img, 80), label: widget.NewLabel(label), onTap: onTap}
	c.label.Alignment = fyne.TextAlignCenter
	c.label.SizeName = theme.SizeNameCaptionText
	c.border = canvas.NewRectangle(color.Transparent)
	c.border.StrokeWidth = 3
	c.border.CornerRadius = theme.InputRadiusSize()
	c.ExtendBaseWidget(c)
	return c
}

func (c *candidateCell) CreateRenderer() fyne.WidgetRenderer {
	return widget.NewSimpleRenderer(container.NewStack(c.border,
		container.NewBorder(nil, c.label, nil, nil, container.NewPadded(c.img))))
}

// Tapped picks the candidate.
func (c *candidateCell) Tapped(*fyne.PointEvent) {
	if c.onTap != nil {
		c.onTap()
	}
}

func (c *candidateCell) setPicked(on bool) {
	c.picked = on
	if on {
		c.border.StrokeColor = theme.Color(theme.ColorNamePrimary)
		c.border.FillColor = theme.Color(theme.ColorNameSelection)
		c.label.TextStyle.Bold = true
		if !c.fixed {
			c.label.Importance = widget.HighImportance
		}
	} else {
		c.border.StrokeColor = color.Transparent
		c.border.FillColor = color.Transparent
		c.label.TextStyle.Bold = false
		c.label.Importance = widget.MediumImportance
	}
	c.border.Refresh()
	c.label.Refresh()
}
