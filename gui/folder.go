package gui

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// errNoOpener says why a folder cannot be shown: nothing to show it with.
var errNoOpener = errors.New("xdg-open is not installed, so the app cannot ask your desktop to show a folder " +
	"(install the xdg-utils package, or open the folder yourself)")

// openerGrace is how long openFolder waits for xdg-open to fail before it
// takes the folder as shown (a file manager it starts may keep running).
var openerGrace = 3 * time.Second

// openFolder shows a folder in the desktop's file manager with xdg-open.
// Call it off the UI goroutine: it waits up to openerGrace for xdg-open to
// report a failure. Nothing is fetched: xdg-open hands a local path to
// the file manager the desktop has chosen.
func openFolder(dir string) error {
	bin, err := exec.LookPath("xdg-open")
	if err != nil {
		return errNoOpener
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bin, dir)
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start xdg-open: %w", err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			msg := strings.TrimSpace(stderr.String())
			if msg == "" {
				msg = err.Error()
			}
			return fmt.Errorf("xdg-open could not show %s: %s", dir, msg)
		}
	case <-time.After(openerGrace):
	}
	return nil
}
