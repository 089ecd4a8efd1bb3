package gui

import (
	"fmt"
	"image"
	"math"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/fyne/v2"
	"fyne.io/fyne/v2/container"
	"fyne.io/fyne/v2/dialog"
	"fyne.io/fyne/v2/storage"
	"fyne.io/fyne/v2/theme"
	"fyne.io/fyne/v2/widget"

	"github.com/oneactor/oneactor-desktop/core/service"
)

// SubjectPage shows one subject: its target and auxiliaries, its tuning
// loss curve, the guidance sliders (v, η1, η2) with a small preview, and
// rename, delete, export, use in the prompt, show its pictures.
type SubjectPage struct {
	main *MainView
	id   string
	info service.SubjectInfo

	title     *widget.Label
	facts     *widget.Label
	problem   *widget.Label
	target    *fyne.Container
	aux       *fyne.Container
	plot      *lossPlot
	plotNote  *widget.Label
	guideHelp *widget.Label
	// use and previewBtn are disabled for a subject of another model.
	use, previewBtn *widget.Button

	v, eta1, eta2          *widget.Slider
	vVal, eta1Val, eta2Val *widget.Label
	previewPrompt          *widget.Entry
	preview                *fyne.Container // previewPictures pictures, 2 × 2
	previewText            *widget.Label
	previewJob             string // "…" while its submission is under way
	previewSeq             int    // previews asked for; only the newest is shown
	previewEarly           map[string]service.JobEvent
	previewSeed            int64
	loading                bool // sliders set from the library, not by the user
	saveMu                 sync.Mutex
	saveSeq                atomic.Int64 // guidance saves asked for

	root  fyne.CanvasObject
	unsub func()
}

// NewSubjectPage builds the page of subject id and loads it.
func NewSubjectPage(m *MainView, id string) *SubjectPage {
	p := &SubjectPage{main: m, id: id, previewSeed: 1}
	p.title = widget.NewLabelWithStyle("", fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
	p.title.Truncation = fyne.TextTruncateEllipsis
	p.facts = widget.NewLabel("")
	p.facts.Wrapping = fyne.TextWrapWord
	p.problem = widget.NewLabel("")
	p.problem.Wrapping = fyne.TextWrapWord
	p.problem.Importance = widget.DangerImportance
	p.problem.Hide()
	p.target = container.NewStack(pictureBox(nil, 128))
	p.aux = container.NewGridWithColumns(5)
	p.plot = newLossPlot(96)
	p.plotNote = widget.NewLabel("")
	p.plotNote.Importance = widget.LowImportance
	p.plotNote.Wrapping = fyne.TextWrapWord

	def := service.DefaultSubjectGuidance()
	p.v, p.vVal = guidanceSlider(0, 1, 0.05, def.V)
	p.eta1, p.eta1Val = guidanceSlider(0, 20, 0.5, def.Eta1)
	p.eta2, p.eta2Val = guidanceSlider(0, 5, 0.1, def.Eta2)
	for _, s := range []*widget.Slider{p.v, p.eta1, p.eta2} {
		s.OnChangeEnded = func(float64) { p.guidanceChanged() }
	}
	reset := widget.NewButtonWithIcon("Defaults", theme.ContentUndoIcon(), func() {
		p.setSliders(service.DefaultSubjectGuidance())
		p.guidanceChanged()
	})
	p.previewPrompt = widget.NewEntry()
	p.previewPrompt.OnSubmitted = func(string) { p.Preview() }
	p.preview = container.NewGridWithColumns(2)
	for range previewPictures {
		p.preview.Add(pictureBox(nil, 64))
	}
	p.previewText = widget.NewLabel("")
	p.previewText.Wrapping = fyne.TextWrapWord
	p.previewText.Importance = widget.LowImportance
	previewBtn := widget.NewButtonWithIcon("Preview", theme.VisibilityIcon(), p.Preview)
	otherSeed := widget.NewButtonWithIcon("Other seeds", theme.ViewRefreshIcon(), func() { p.previewSeed += previewPictures; p.Preview() })

	back := widget.NewButtonWithIcon("Gallery", theme.NavigateBackIcon(), m.showGallery)
	use := widget.NewButtonWithIcon("Use in prompt", theme.ContentAddIcon(), func() { m.panel.chips.Add(p.id) })
	use.Importance = widget.HighImportance
	p.use, p.previewBtn = use, previewBtn
	pictures := widget.NewButtonWithIcon("Its pictures", theme.GridIcon(), func() {
		m.gallery.ShowSubject(p.id)
		m.showGallery()
	})
	rename := widget.NewButtonWithIcon("Rename…", theme.DocumentCreateIcon(), p.renameDialog)
	export := widget.NewButtonWithIcon("Export…", theme.DocumentSaveIcon(), p.exportDialog)
	del := widget.NewButtonWithIcon("Delete", theme.DeleteIcon(), p.ConfirmDelete)
	del.Importance = widget.DangerImportance
	bar := container.NewBorder(nil, nil, container.NewHBox(back, widget.NewSeparator()), nil,
		container.NewHScroll(container.NewHBox(use, pictures, rename, export, del)))

	guidance := widget.NewForm(
		widget.NewFormItem("v", container.NewBorder(nil, nil, nil, p.vVal, p.v)),
		widget.NewFormItem("η1", container.NewBorder(nil, nil, nil, p.eta1Val, p.eta1)),
		widget.NewFormItem("η2", container.NewBorder(nil, nil, nil, p.eta2Val, p.eta2)),
		widget.NewFormItem("Prompt", p.previewPrompt),
	)
	guideHelp := widget.NewLabel("")
	guideHelp.Wrapping = fyne.TextWrapWord
	guideHelp.Importance = widget.LowImportance
	previewBox := container.NewBorder(nil, nil, container.NewVBox(p.preview), nil,
		container.NewVBox(previewBtn, otherSeed, reset, p.previewText))

	p.guideHelp = guideHelp
	head := container.NewBorder(nil, nil, container.NewVBox(caption("Target"), p.target), nil,
		container.NewVBox(p.title, p.facts, p.problem))
	left := container.NewVBox(caption("Auxiliaries"), p.aux, caption("Tuning loss"), p.plot.Object(), p.plotNote)
	right := container.NewVBox(caption("Guidance"), guidance, previewBox, guideHelp)
	body := container.NewVBox(head, widget.NewSeparator(), container.NewGridWithColumns(2, left, right))
	p.root = container.NewBorder(container.NewPadded(bar), nil, nil, nil, container.NewVScroll(container.NewPadded(body)))
	p.unsub = m.studio.Subscribe(func(ev service.JobEvent) { onUI(func() { p.onEvent(ev) }) })
	p.Load()
	return p
}

// previewPictures is how many pictures a preview makes: several show how
// alike the subject comes out, which one cannot.
const previewPictures = 4

// caption is a section heading inside a page.
func caption(s string) *widget.Label {
	return widget.NewLabelWithStyle(s, fyne.TextAlignLeading, fyne.TextStyle{Bold: true})
}

// guidanceSlider is a slider with its value shown beside it.
func guidanceSlider(lo, hi, step, v float64) (*widget.Slider, *widget.Label) {
	s := widget.NewSlider(lo, hi)
	s.Step = step
	l := widget.NewLabel("")
	s.OnChanged = func(x float64) { l.SetText(fmt.Sprintf("%5.2f", x)) }
	s.SetValue(v)
	l.SetText(fmt.Sprintf("%5.2f", v))
	return s, l
}

// Object is the page's root.
func (p *SubjectPage) Object() fyne.CanvasObject { return p.root }

// Close stops listening to jobs (a newer page replaces this one).
func (p *SubjectPage) Close() {
	if p.unsub != nil {
		p.unsub()
		p.unsub = nil
	}
}

// Info is the subject shown.
func (p *SubjectPage) Info() service.SubjectInfo { return p.info }

// Load reads the subject and its pictures (off the UI goroutine).
func (p *SubjectPage) Load() {
	ref := p.main.panel.model.Ref
	go func() {
		info, err := p.main.studio.Subject(p.id)
		var target image.Image
		var aux []image.Image
		var problem string
		if err == nil {
			target, aux, err = p.main.studio.SubjectPictures(p.id)
		}
		if err == nil && ref != "" {
			problem = p.main.studio.SubjectProblem(p.id, ref)
		}
		onUI(func() {
			if err != nil {
				p.main.ShowError("The subject could not be read", err)
				return
			}
			p.show(info, target, aux, problem)
		})
	}()
}

func (p *SubjectPage) show(info service.SubjectInfo, target image.Image, aux []image.Image, problem string) {
	p.info = info
	p.title.SetText(info.Name)
	p.facts.SetText(fmt.Sprintf("Base word “%s” · base prompt “%s”\nTuned %d steps on 1 target + %d auxiliaries · made %s",
		info.BaseWord, info.BasePrompt, info.Steps, info.Auxiliaries, info.Created.Local().Format("2 Jan 2006 15:04")))
	if problem != "" {
		p.problem.SetText(problem)
		p.problem.Show()
		p.use.Disable()
		p.previewBtn.Disable()
	} else {
		p.problem.Hide()
		p.use.Enable()
		p.previewBtn.Enable()
	}
	p.target.Objects = []fyne.CanvasObject{pictureBox(target, 128)}
	p.target.Refresh()
	p.aux.Objects = nil
	for _, a := range aux {
		p.aux.Add(pictureBox(a, 48))
	}
	p.aux.Refresh()
	p.plot.Set(info.LossCurve, len(info.LossCurve))
	if n := len(info.LossCurve); n > 0 {
		s := trend(info.LossCurve)
		p.plotNote.SetText(fmt.Sprintf("%d steps; loss averaged %.3f at the start, %.3f at the end (each step draws its own noise level, so single steps are noisy)",
			n, s[min(n-1, 9)], s[n-1]))
	}
	if p.previewPrompt.Text == "" {
		p.previewPrompt.SetText(info.BasePrompt)
	}
	p.guideHelp.SetText(fmt.Sprintf("v: variety (low) or sameness (high). η1: how strongly %s is drawn. η2: away from “any %s”; 0 samples as fast as a plain prompt. Used whenever %s is in a prompt.",
		info.Name, info.BaseWord, info.Name))
	p.setSliders(info.Guidance)
	if problem == "" {
		p.Preview() // what the subject looks like with its guidance
	}
}

func (p *SubjectPage) setSliders(g service.Guidance) {
	p.loading = true
	p.v.SetValue(g.V)
	p.eta1.SetValue(g.Eta1)
	p.eta2.SetValue(g.Eta2)
	p.loading = false
}

// Guidance is what the sliders say.
func (p *SubjectPage) Guidance() service.Guidance {
	r := func(x float64) float64 { return math.Round(x*100) / 100 } // slider steps add float noise
	return service.Guidance{V: r(p.v.Value), Eta1: r(p.eta1.Value), Eta2: r(p.eta2.Value)}
}

// guidanceChanged stores the sliders' values and previews them.
func (p *SubjectPage) guidanceChanged() {
	if p.loading {
		return
	}
	g := p.Guidance()
	if g.Eta2 > g.Eta1 {
		g.Eta2 = g.Eta1
		p.loading = true
		p.eta2.SetValue(g.Eta2)
		p.loading = false
	}
	id := p.id
	seq := p.saveSeq.Add(1)
	go func() {
		// Saves run one at a time and a save that a newer one follows is
		// skipped, so the last values moved to are the ones kept.
		p.saveMu.Lock()
		defer p.saveMu.Unlock()
		if seq != p.saveSeq.Load() {
			return
		}
		err := p.main.studio.SetSubjectGuidance(id, g)
		onUI(func() {
			if err != nil {
				p.main.ShowError("The guidance could not be saved", err)
				return
			}
			p.main.subj.Reload(nil)
			p.Preview()
		})
	}()
}

// Preview makes one small picture with the sliders' guidance (a running
// preview is replaced).
func (p *SubjectPage) Preview() {
	ref := p.main.panel.model.Ref
	if ref == "" {
		p.previewText.SetText("Choose a model in the generation panel to preview.")
		return
	}
	if old := p.previewJob; old != "" && old != "…" {
		go p.main.studio.Cancel(old)
	}
	req := service.PreviewRequest{SubjectID: p.id, ModelRef: ref, Prompt: strings.TrimSpace(p.previewPrompt.Text),
		Seed: p.previewSeed, N: previewPictures, Steps: 20, Guidance: p.Guidance()}
	p.previewText.SetText("Previewing…")
	p.previewJob = "…"
	p.previewSeq++
	seq := p.previewSeq
	go func() {
		id, err := p.main.studio.PreviewSubject(req)
		onUI(func() {
			early := p.previewEarly[id]
			delete(p.previewEarly, id)
			switch {
			case seq != p.previewSeq: // a newer preview was asked for meanwhile
				if err == nil {
					go p.main.studio.Cancel(id)
				}
			case err != nil:
				p.previewJob = ""
				p.previewText.SetText("No preview: " + err.Error())
			default:
				p.previewJob, p.previewEarly = id, nil
				if early.Job.ID == id {
					p.onEvent(early) // it ran before its id came back
				}
			}
		})
	}()
}

func (p *SubjectPage) onEvent(ev service.JobEvent) {
	j := ev.Job
	w := j.Subject
	if w == nil || w.Kind != service.SubjectPreview {
		return
	}
	if p.previewJob == "…" {
		if p.previewEarly == nil {
			p.previewEarly = map[string]service.JobEvent{}
		}
		p.previewEarly[j.ID] = ev
		return
	}
	if j.ID != p.previewJob {
		return
	}
	switch j.State {
	case service.JobRunning:
		if j.Total > 0 {
			p.previewText.SetText(fmt.Sprintf("Previewing: step %d/%d", j.Step, j.Total))
		}
	case service.JobDone:
		p.previewJob = ""
		p.preview.Objects = nil
		for _, img := range w.Pictures {
			p.preview.Add(pictureBox(img, 64))
		}
		p.preview.Refresh()
		g := p.Guidance()
		p.previewText.SetText(fmt.Sprintf("“%s”, seeds %d–%d, 20 steps, v %.2f, η1 %.2f, η2 %.2f (%s); not saved",
			strings.TrimSpace(p.previewPrompt.Text), p.previewSeed, p.previewSeed+int64(len(w.Pictures))-1, g.V, g.Eta1, g.Eta2,
			j.Elapsed.Round(10*time.Millisecond)))
	case service.JobFailed:
		p.previewJob = ""
		p.previewText.SetText("No preview: " + errText(j.Err))
	case service.JobCancelled:
		if j.ID == p.previewJob {
			p.previewJob = ""
			p.previewText.SetText("Preview cancelled.")
		}
	}
}

func (p *SubjectPage) renameDialog() {
	e := widget.NewEntry()
	e.SetText(p.info.Name)
	dialog.ShowForm("Rename the subject", "Rename", "Cancel", []*widget.FormItem{widget.NewFormItem("Name", e)}, func(ok bool) {
		if ok {
			p.Rename(e.Text)
		}
	}, p.main.win)
}

// Rename gives the subject a new name.
func (p *SubjectPage) Rename(name string) {
	go func() {
		err := p.main.studio.RenameSubject(p.id, name)
		onUI(func() {
			if err != nil {
				p.main.ShowError("The subject could not be renamed", err)
				return
			}
			p.info.Name = strings.TrimSpace(name)
			p.title.SetText(p.info.Name)
			p.main.subj.Reload(nil)
		})
	}()
}

// ConfirmDelete asks before deleting the subject.
func (p *SubjectPage) ConfirmDelete() {
	dialog.ShowConfirm("Delete this subject?",
		fmt.Sprintf("Delete %s? Its tuning is lost (export it first to keep a copy). Pictures made with it stay in the gallery.", p.info.Name),
		func(ok bool) {
			if ok {
				p.Delete()
			}
		}, p.main.win)
}

// Delete deletes the subject without asking.
func (p *SubjectPage) Delete() {
	go func() {
		err := p.main.studio.DeleteSubject(p.id)
		onUI(func() {
			if err != nil {
				p.main.ShowError("The subject could not be deleted", err)
				return
			}
			p.main.Notify(fmt.Sprintf("Deleted the subject %s", p.info.Name))
			p.main.subj.forget(p.id)
			p.main.panel.chips.Remove(p.id)
			p.main.subj.Reload(nil)
			p.Close()
			p.main.showGallery()
		})
	}()
}

func (p *SubjectPage) exportDialog() {
	d := dialog.NewFileSave(func(wc fyne.URIWriteCloser, err error) {
		if err != nil || wc == nil {
			return
		}
		path := wc.URI().Path()
		wc.Close()
		p.Export(path)
	}, p.main.win)
	d.SetFileName(safeFileName(p.info.Name) + ".oneactor")
	d.SetFilter(storage.NewExtensionFileFilter([]string{".oneactor"}))
	d.Show()
}

// Export writes the subject's bundle to path (replacing the empty file
// the save dialog made).
func (p *SubjectPage) Export(path string) {
	go func() {
		err := p.main.studio.ExportSubject(p.id, path)
		onUI(func() {
			if err != nil {
				p.main.ShowError("The subject could not be exported", err)
				return
			}
			p.main.Notify(fmt.Sprintf("Exported %s to %s", p.info.Name, path))
		})
	}()
}

func safeFileName(s string) string {
	s = strings.Map(func(r rune) rune {
		if strings.ContainsRune(`/\:*?"<>|`, r) || r < 32 {
			return '_'
		}
		return r
	}, strings.TrimSpace(s))
	if s == "" {
		return "subject"
	}
	return s
}
