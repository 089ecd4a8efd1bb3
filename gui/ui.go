package gui

import (
	"sync"

	"fyne.io/fyne/v2"
)

// uiMu serialises the updates workers send to widgets. Under the desktop
// driver fyne.Do already runs them one at a time on the UI goroutine and
// the lock is never contended; the test driver, though, runs fyne.Do
// inline on the calling worker, and the lock keeps those updates from
// interleaving with each other and with a test's own taps.
var uiMu sync.Mutex

// onUI runs f on the UI goroutine (fyne.Do), one update at a time.
// Never call it from inside an update: the lock does not nest.
func onUI(f func()) {
	fyne.Do(func() {
		uiMu.Lock()
		defer uiMu.Unlock()
		f()
	})
}
