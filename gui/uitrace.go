package gui

import (
	"bufio"
	"fmt"
	"os"
	"time"

	"fyne.io/fyne/v2"
)

// UITraceEnv names a file: when set, the app measures how responsive its
// window is. Every 10 ms a goroutine hands a no-op to the UI goroutine
// (fyne.Do) and records how long it waited to run. A click waits just as
// long: the same loop handles input, painting and fyne.Do. Each sample is
// a line "unix-ns wait-µs jobs" (jobs: queued and running generation jobs
// then), flushed every second, so a killed app leaves its samples too.
const UITraceEnv = "ONEACTOR_UI_TRACE"

// startUITrace starts the measurement for the main view v when path is
// set; stop ends it and flushes the file.
func startUITrace(path string, v *MainView) (stop func()) {
	if path == "" {
		return func() {}
	}
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "UI trace:", err)
		return func() {}
	}
	w := bufio.NewWriter(f)
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		flush := time.NewTicker(time.Second)
		defer flush.Stop()
		for {
			select {
			case <-done:
				w.Flush()
				f.Close()
				return
			case <-flush.C:
				w.Flush()
			case <-tick.C:
				jobs := 0
				if v.studio != nil {
					jobs = len(v.studio.Jobs())
				}
				sent := time.Now()
				ran := make(chan time.Time, 1)
				fyne.Do(func() { ran <- time.Now() })
				select {
				case at := <-ran:
					fmt.Fprintf(w, "%d %d %d\n", sent.UnixNano(), at.Sub(sent).Microseconds(), jobs)
				case <-done:
					w.Flush()
					f.Close()
					return
				}
			}
		}
	}()
	return func() {
		close(done)
		<-finished
	}
}
