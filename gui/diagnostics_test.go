//go:build ci

package gui

import (
	"strings"
	"testing"
	"time"

	"fyne.io/fyne/v2/test"

	"github.com/oneactor/oneactor-desktop/core/service"
)

type fakeBackend struct{ d service.Diagnostics }

func (f fakeBackend) Diagnostics() service.Diagnostics { return f.d }

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !locked(cond) {
		if time.Now().After(deadline) {
			t.Fatal("timed out waiting for the view to update")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestDiagnosticsViewShowsFallbackReason(t *testing.T) {
	a := test.NewTempApp(t)
	d := service.Diagnostics{
		App: "OneActor Desktop 0.1.0 (build 1)", ORTVersion: "1.30.0",
		ORTLibrary: "/x/libonnxruntime.so.1", ORTSource: "bundled",
		Requested: "auto", Provider: "CPU", ProviderReason: "Failed to load libonnxruntime_providers_cuda.so",
		DataDir: "/home/u/.local/share/oneactor",
	}
	v := NewDiagnosticsView(fakeBackend{d}, a.Clipboard())
	test.NewTempWindow(t, v.Object())
	v.Refresh()
	waitFor(t, func() bool { return !v.copyBtn.Disabled() })
	if got := v.values["ONNX Runtime"].Text; got != "1.30.0" {
		t.Errorf("version row: %q", got)
	}
	if got := v.values["Why not CUDA"].Text; !strings.Contains(got, "providers_cuda") {
		t.Errorf("reason row: %q", got)
	}
	if !strings.Contains(v.status.Text, "CPU") {
		t.Errorf("status: %q", v.status.Text)
	}
	ui(func() { test.Tap(v.copyBtn) })
	if got := a.Clipboard().Content(); got != d.Text() {
		t.Errorf("clipboard:\n%s\nwant:\n%s", got, d.Text())
	}
}

func TestDiagnosticsViewShowsLibraryError(t *testing.T) {
	a := test.NewTempApp(t)
	d := service.Diagnostics{App: "OneActor Desktop", Provider: "none",
		ORTError: "ONNX Runtime library not found (tried /a). Fix: run `make setup`"}
	v := NewDiagnosticsView(fakeBackend{d}, a.Clipboard())
	test.NewTempWindow(t, v.Object())
	v.Refresh()
	waitFor(t, func() bool { return !v.copyBtn.Disabled() })
	if got := v.values["ONNX Runtime"].Text; got != "not loaded" {
		t.Errorf("version row: %q", got)
	}
	if !strings.Contains(v.values["Library"].Text, "make setup") {
		t.Errorf("library row: %q", v.values["Library"].Text)
	}
	if !strings.Contains(v.status.Text, "could not be loaded") {
		t.Errorf("status: %q", v.status.Text)
	}
}
