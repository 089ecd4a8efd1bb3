package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/oneactor/oneactor-desktop/core/ort"
)

func TestDoctor(t *testing.T) {
	var out, errb bytes.Buffer
	code := run([]string{"--data-dir", t.TempDir(), "doctor"}, &out, &errb)
	if code != 0 {
		t.Fatalf("doctor exit %d\n%s%s", code, out.String(), errb.String())
	}
	text := out.String()
	for _, want := range []string{"ONNX Runtime:  " + ort.TestedVersion, "Provider:      CPU", "running on CPU because: ", "Data folder:"} {
		if !strings.Contains(text, want) {
			t.Errorf("doctor output lacks %q:\n%s", want, text)
		}
	}
	t.Logf("\n%s", text)
}

func TestBadArguments(t *testing.T) {
	var out, errb bytes.Buffer
	if code := run([]string{"--provider", "tpu", "doctor"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "auto, cuda or cpu") {
		t.Errorf("bad provider: exit %d, %q", code, errb.String())
	}
	errb.Reset()
	if code := run([]string{"frobnicate"}, &out, &errb); code != 2 || !strings.Contains(errb.String(), `unknown command "frobnicate"`) {
		t.Errorf("unknown command: exit %d, %q", code, errb.String())
	}
}
