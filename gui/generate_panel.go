package gui

import (
	"fmt"
	"image/color"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/canvas"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/layout"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// GeneratePanel is the right column: model, prompt and settings, Generate,
// the job queue, progress and the live preview.
type GeneratePanel struct {
	studio *service.Studio
	main   *MainView

	models  []service.ModelEntry
	refs    map[string]string // model picker option → model ref
	loadSeq atomic.Int64      // LoadModels requests; only the newest applies
	model   service.ModelInfo // the chosen, usable model ("" Ref: none)
	sizes   []service.Size

	modelSel  *widget.Select
	modelNote *widget.Label
	prompt    *promptEntry
	chips     *subjectChips // the active subjects (subject_chips.go)
	negative  *promptEntry
	steps     *widget.Entry
	cfg       *widget.Entry
	sampler   *widget.Select
	seed      *widget.Entry
	seedLock  *widget.Check
	lastSeed  *widget.Label
	batch     *widget.Entry
	size      *widget.Select

	generate *widget.Button
	cancel   *widget.Button
	progress *widget.ProgressBar
	stepText *widget.Label
	preview  *canvas.Image
	queue    *widget.List

	jobs    []service.Job // queued and running, in order
	running string        // id of the running job
	opening string        // the model ref being opened
	// wantRef is the model to select once the list is loaded ("" keeps the choice).
	wantRef string
	root    fyne.CanvasObject
	unsub   func()
}

// NewGeneratePanel builds the panel of the main view m and listens to the
// studio's jobs; call LoadModels to fill the model picker.
func NewGeneratePanel(st *service.Studio, m *MainView) *GeneratePanel {
	p := &GeneratePanel{studio: st, main: m, refs: map[string]string{}}
	def := service.DefaultRecipe()

	p.modelSel = widget.NewSelect(nil, p.modelChosen)
	p.modelSel.PlaceHolder = "Loading models…"
	p.modelNote = widget.NewLabel("")
	p.modelNote.Wrapping = fyne.TextWrapWord
	p.modelNote.Importance = widget.LowImportance
	p.modelNote.Hide()

	p.prompt = newPromptEntry(3, "What should the picture show?")
	p.negative = newPromptEntry(2, "What to avoid (optional)")
	p.chips = newSubjectChips(p)
	for _, e := range []*promptEntry{p.prompt, p.negative} {
		e.onSubmit, e.onEscape = p.Generate, p.CancelRunning
	}
	p.steps = numberEntry(strconv.Itoa(def.Steps))
	p.cfg = numberEntry(strconv.FormatFloat(def.CFG, 'g', -1, 64))
	p.sampler = widget.NewSelect(service.Samplers(), nil)
	p.sampler.SetSelected(def.Sampler)
	p.seed = numberEntry("")
	p.seed.SetPlaceHolder("random")
	p.seedLock = widget.NewCheck("Fixed", func(on bool) {
		if on {
			p.seed.Enable()
		} else {
			p.seed.Disable()
		}
	})
	p.seed.Disable()
	p.lastSeed = widget.NewLabel("")
	p.lastSeed.Importance = widget.LowImportance
	p.lastSeed.Hide() // until the first picture is made
	p.batch = numberEntry(strconv.Itoa(def.N))
	p.size = widget.NewSelect(nil, func(s string) { p.sizeChosen(s) })

	p.generate = widget.NewButtonWithIcon("Generate", theme.MediaPlayIcon(), p.Generate)
	p.generate.Importance = widget.HighImportance
	p.generate.Disable()
	p.cancel = widget.NewButtonWithIcon("Cancel", theme.CancelIcon(), p.CancelRunning)
	p.cancel.Disable()
	p.progress = widget.NewProgressBar()
	p.progress.Hide() // until a job runs
	p.stepText = widget.NewLabel("Ready")
	p.stepText.Truncation = fyne.TextTruncateEllipsis
	p.preview = canvas.NewImageFromImage(nil)
	p.preview.FillMode = canvas.ImageFillContain
	p.preview.SetMinSize(fyne.NewSquareSize(180))
	p.queue = widget.NewList(func() int { return len(p.jobs) }, func() fyne.CanvasObject {
		l := widget.NewLabel("")
		l.Truncation = fyne.TextTruncateEllipsis
		return container.NewBorder(nil, nil, nil, widget.NewButtonWithIcon("", theme.CancelIcon(), nil), l)
	}, p.updateQueueRow)

	form := widget.NewForm(
		widget.NewFormItem("Model", container.NewVBox(p.modelSel, p.modelNote)),
		widget.NewFormItem("Prompt", container.NewVBox(p.prompt, p.chips.Object())),
		widget.NewFormItem("Negative", p.negative),
		widget.NewFormItem("Steps", p.steps),
		widget.NewFormItem("CFG scale", p.cfg),
		widget.NewFormItem("Sampler", p.sampler),
		widget.NewFormItem("Seed", container.NewBorder(nil, p.lastSeed, nil, p.seedLock, p.seed)),
		widget.NewFormItem("Batch", p.batch),
		widget.NewFormItem("Size", p.size),
	)
	buttons := container.NewGridWithColumns(2, p.generate, p.cancel)
	queueBox := withMinHeight(96, p.queue)
	status := container.NewVBox(p.progress, p.stepText, container.NewCenter(p.preview),
		widget.NewLabelWithStyle("Queue", fyne.TextAlignLeading, fyne.TextStyle{Bold: true}), queueBox)
	title := widget.NewLabelWithStyle("Generate", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.root = container.NewVScroll(container.NewVBox(title, form, buttons, widget.NewSeparator(), status, layout.NewSpacer()))

	p.unsub = st.Subscribe(func(ev service.JobEvent) { onUI(func() { p.onEvent(ev) }) })
	return p
}

func numberEntry(v string) *widget.Entry {
	e := widget.NewEntry()
	e.SetText(v)
	return e
}

// Object is the panel's root.
func (p *GeneratePanel) Object() fyne.CanvasObject { return p.root }

// LoadModels reads the model list (off the UI goroutine: it opens every
// model folder) and keeps the current choice when it is still there.
func (p *GeneratePanel) LoadModels() {
	// Only the newest request may apply its list: an older, slower one
	// (e.g. still extracting the bundled model) must not undo a choice
	// made since.
	seq := p.loadSeq.Add(1)
	go func() {
		models, err := p.studio.AvailableModels()
		onUI(func() {
			if seq != p.loadSeq.Load() {
				return
			}
			if err != nil {
				p.main.ShowError("The model list could not be read", err)
				return
			}
			p.setModels(models)
		})
	}()
}

func (p *GeneratePanel) setModels(models []service.ModelEntry) {
	p.models = models
	p.refs = map[string]string{}
	var opts []string
	want, chosen := p.wantRef, ""
	if want == "" {
		want = p.model.Ref
	}
	for _, m := range models {
		label := modelLabel(m)
		opts = append(opts, label)
		p.refs[label] = m.Ref
		if m.Ref == want || chosen == "" && want == "" && m.Problem == "" {
			chosen = label
		}
	}
	p.wantRef = ""
	p.modelSel.PlaceHolder = "Choose a model"
	p.modelSel.SetOptions(opts)
	if chosen == "" && len(opts) > 0 {
		chosen = opts[0]
	}
	if chosen != "" {
		p.modelSel.SetSelected(chosen)
	}
}

// displayName is a model's name for people: the bundled model's folder
// name ("toyworld") is shown as ToyWorld.
func displayName(m service.ModelInfo) string {
	if m.Ref == service.BundledModel {
		return "ToyWorld"
	}
	return m.Name
}

func modelLabel(m service.ModelEntry) string {
	switch {
	case m.Ref == service.BundledModel:
		return "ToyWorld (bundled demo)"
	case m.Problem != "":
		return m.Name + " (cannot be used)"
	default:
		return fmt.Sprintf("%s (%s)", m.Name, m.Family)
	}
}

// modelChosen opens the chosen model (off the UI goroutine) to learn its
// sizes, or explains why it cannot be used.
func (p *GeneratePanel) modelChosen(label string) {
	ref := p.refs[label]
	for _, m := range p.models {
		if m.Ref == ref && m.Problem != "" {
			p.model = service.ModelInfo{}
			p.main.cond.SetModel(p.model)
			p.modelNote.SetText(m.Problem)
			p.modelNote.Importance = widget.DangerImportance
			p.modelNote.Show()
			p.generate.Disable()
			p.main.updateTitle()
			return
		}
	}
	// The list is read again after every change of the model folders; the
	// model in use (or on its way) is not opened a second time.
	if ref == p.model.Ref || ref == p.opening {
		return
	}
	p.opening = ref
	go func() {
		info, err := p.studio.Model(ref)
		onUI(func() {
			if p.opening == ref {
				p.opening = ""
			}
			if p.refs[p.modelSel.Selected] != ref {
				return
			}
			if err != nil {
				p.model = service.ModelInfo{}
				p.modelNote.SetText(err.Error())
				p.modelNote.Importance = widget.DangerImportance
				p.modelNote.Show()
				p.generate.Disable()
				return
			}
			p.useModel(info)
		})
	}()
}

func (p *GeneratePanel) useModel(m service.ModelInfo) {
	p.model = m
	p.modelNote.Importance = widget.LowImportance
	kind := m.Family
	if m.Ref == service.BundledModel {
		kind = "demo model"
	}
	p.modelNote.SetText(fmt.Sprintf("%s · native %d px · sizes in steps of %d px", kind, m.DefaultSize, m.Factor))
	p.modelNote.Show()
	old := p.size.Selected
	p.sizes = service.SizePresets(m)
	var opts []string
	for _, s := range p.sizes {
		opts = append(opts, s.String())
	}
	p.size.SetOptions(opts)
	if !containsString(opts, old) {
		old = opts[0]
	}
	p.size.SetSelected(old)
	p.generate.Enable()
	p.main.updateTitle()
	p.main.cond.SetModel(m)
	p.sizeChosen(p.size.Selected)
	p.chips.CheckModel()
}

// sizeChosen lets the conditioning follow the output size.
func (p *GeneratePanel) sizeChosen(s string) {
	if z, ok := parseSize(s); ok {
		p.main.cond.SetSize(z.Width, z.Height)
	}
}

func containsString(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Recipe reads the panel into a recipe, with messages for wrong numbers.
func (p *GeneratePanel) Recipe() (service.Recipe, error) {
	r := service.DefaultRecipe()
	r.ModelRef = p.model.Ref
	r.Prompt, r.Negative = strings.TrimSpace(p.prompt.Text), strings.TrimSpace(p.negative.Text)
	r.Sampler = p.sampler.Selected
	var err error
	if r.Steps, err = strconv.Atoi(strings.TrimSpace(p.steps.Text)); err != nil {
		return r, fmt.Errorf("steps: %q is not a whole number", p.steps.Text)
	}
	if r.CFG, err = strconv.ParseFloat(strings.TrimSpace(p.cfg.Text), 64); err != nil {
		return r, fmt.Errorf("CFG scale: %q is not a number", p.cfg.Text)
	}
	if r.N, err = strconv.Atoi(strings.TrimSpace(p.batch.Text)); err != nil {
		return r, fmt.Errorf("batch: %q is not a whole number", p.batch.Text)
	}
	if p.seedLock.Checked {
		if r.Seed, err = strconv.ParseInt(strings.TrimSpace(p.seed.Text), 10, 64); err != nil || r.Seed < 0 {
			return r, fmt.Errorf("seed: %q is not a whole number ≥ 0 (untick Fixed for a random seed)", p.seed.Text)
		}
	}
	if s, ok := parseSize(p.size.Selected); ok {
		r.Width, r.Height = s.Width, s.Height
	}
	if r.Control, err = p.main.cond.Control(); err != nil {
		return r, err
	}
	r.Subjects = p.chips.Uses()
	return r, nil
}

func parseSize(s string) (service.Size, bool) {
	var z service.Size
	_, err := fmt.Sscanf(s, "%d × %d", &z.Width, &z.Height)
	return z, err == nil
}

// Generate queues a job with the panel's settings.
func (p *GeneratePanel) Generate() {
	if p.generate.Disabled() {
		return
	}
	r, err := p.Recipe()
	if err != nil {
		p.main.ShowError("Check the settings", err)
		return
	}
	go func() {
		_, err := p.studio.Submit(r)
		if err != nil {
			onUI(func() { p.main.ShowError("The job could not be started", err) })
		}
	}()
}

// CancelRunning cancels the running job.
func (p *GeneratePanel) CancelRunning() {
	if p.running != "" {
		id := p.running
		go p.studio.Cancel(id)
		p.stepText.SetText("Cancelling…")
	}
}

// onEvent runs on the UI goroutine for every job event.
func (p *GeneratePanel) onEvent(ev service.JobEvent) {
	j := ev.Job
	p.trackJob(j)
	if j.Subject != nil {
		return // casting, tuning, previews: their own views follow them
	}
	switch j.State {
	case service.JobRunning:
		p.running = j.ID
		p.progress.Show()
		p.cancel.Enable()
		if j.Total > 0 {
			p.progress.SetValue(float64(j.Step) / float64(j.Total))
		}
		p.stepText.SetText(progressText(j))
		if len(ev.Preview) > 0 {
			p.preview.Image = ev.Preview[0]
			p.preview.Refresh()
		}
	case service.JobDone:
		p.finished(j)
		p.progress.SetValue(1)
		first, last := j.Recipe.Seed, j.Recipe.Seed+int64(len(j.Items))-1
		seeds := strconv.FormatInt(first, 10)
		if last != first {
			seeds += "–" + strconv.FormatInt(last, 10)
		}
		p.stepText.SetText(fmt.Sprintf("Done in %s: %s, seed %s", j.Elapsed.Round(100*time.Millisecond), plural(len(j.Items), "picture"), seeds))
		p.lastSeed.SetText("Last picture: seed " + strconv.FormatInt(last, 10))
		p.lastSeed.Show()
		if !p.seedLock.Checked {
			p.seed.SetText(strconv.FormatInt(last, 10))
		}
		p.main.gallery.Reload()
	case service.JobFailed:
		p.finished(j)
		p.stepText.SetText("Failed: " + errText(j.Err))
		p.main.ShowError("The pictures could not be made", j.Err)
	case service.JobCancelled:
		p.finished(j)
		if j.ID == p.running || p.running == "" {
			p.stepText.SetText("Cancelled — nothing was saved")
			p.progress.SetValue(0)
		}
	}
}

func errText(err error) string {
	if err == nil {
		return "unknown error"
	}
	return err.Error()
}

func (p *GeneratePanel) finished(j service.Job) {
	if p.running == j.ID {
		p.running = ""
		p.cancel.Disable()
	}
}

// trackJob keeps the queue list in step: unfinished jobs in order.
func (p *GeneratePanel) trackJob(j service.Job) {
	for k := range p.jobs {
		if p.jobs[k].ID == j.ID {
			if j.Finished() {
				p.jobs = append(p.jobs[:k], p.jobs[k+1:]...)
			} else {
				p.jobs[k] = j
			}
			p.queue.Refresh()
			return
		}
	}
	if !j.Finished() {
		p.jobs = append(p.jobs, j)
		p.queue.Refresh()
	}
}

func (p *GeneratePanel) updateQueueRow(id widget.ListItemID, o fyne.CanvasObject) {
	c := o.(*fyne.Container)
	j := p.jobs[id]
	state := "queued"
	if j.State == service.JobRunning {
		state = fmt.Sprintf("%d/%d", j.Step, j.Total)
	}
	c.Objects[0].(*widget.Label).SetText(fmt.Sprintf("%s — %s", j.Title, state))
	c.Objects[1].(*widget.Button).OnTapped = func() { go p.studio.Cancel(j.ID) }
}

func progressText(j service.Job) string {
	if j.Step == 0 {
		return "Loading the model and encoding the prompt…"
	}
	return fmt.Sprintf("Step %d/%d · %s elapsed · about %s left", j.Step, j.Total,
		j.Elapsed.Round(100*time.Millisecond), j.ETA.Round(time.Second))
}

// Apply puts a recipe's settings into the panel ("reuse settings"). The
// seed is fixed to the picture's, so Generate makes the same picture again.
func (p *GeneratePanel) Apply(r service.Recipe) {
	p.prompt.SetText(r.Prompt)
	p.negative.SetText(r.Negative)
	if r.Steps > 0 {
		p.steps.SetText(strconv.Itoa(r.Steps))
	}
	if r.CFG > 0 {
		p.cfg.SetText(strconv.FormatFloat(r.CFG, 'g', -1, 64))
	}
	var notes []string
	if containsString(p.sampler.Options, r.Sampler) {
		p.sampler.SetSelected(r.Sampler)
	} else if r.Sampler != "" {
		notes = append(notes, fmt.Sprintf("sampler %q is not available, kept %s", r.Sampler, p.sampler.Selected))
	}
	p.seedLock.SetChecked(true)
	p.seed.SetText(strconv.FormatInt(r.Seed, 10))
	if missing := p.chips.Set(r.Subjects); len(missing) > 0 {
		notes = append(notes, fmt.Sprintf("subject %s is not in your library", strings.Join(missing, ", ")))
	}
	p.batch.SetText("1")
	if r.Width > 0 && r.Height > 0 {
		p.setSize(service.Size{Width: r.Width, Height: r.Height})
	}
	go func() {
		ref := p.studio.ModelRefFor(r)
		onUI(func() {
			switch {
			case ref != "" && ref != p.model.Ref:
				p.wantRef = ref
				p.setModels(p.models)
			case ref == "" && r.ModelName != "":
				p.main.Notify(fmt.Sprintf("Made with model %q, which is not among your models; the current model is kept", r.ModelName))
			}
		})
	}()
	if len(notes) > 0 {
		p.main.Notify(strings.Join(notes, "; "))
	}
}

// setSize selects a size, adding it to the choices when it is not a preset.
func (p *GeneratePanel) setSize(s service.Size) {
	opt := s.String()
	if !containsString(p.size.Options, opt) {
		p.size.SetOptions(append(p.size.Options, opt))
	}
	p.size.SetSelected(opt)
}

func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// withMinHeight gives a list a height to show itself in a VBox, where it
// would otherwise shrink to one row.
func withMinHeight(h float32, o fyne.CanvasObject) fyne.CanvasObject {
	spacer := canvas.NewRectangle(color.Transparent)
	spacer.SetMinSize(fyne.NewSize(0, h))
	return container.NewStack(spacer, o)
}
