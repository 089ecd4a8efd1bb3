//go:build ci

package gui

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

func TestUITraceWritesSamples(t *testing.T) {
	v, _ := testMain(t)
	path := filepath.Join(t.TempDir(), "trace")
	stop := startUITrace(path, v)
	time.Sleep(500 * time.Millisecond)
	stop()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if len(lines) < 3 { // 50 ticks; a busy machine drops some
		t.Fatalf("%d samples in 500 ms", len(lines))
	}
	for _, l := range lines {
		f := strings.Fields(l)
		if len(f) != 3 {
			t.Fatalf("sample %q", l)
		}
		for _, x := range f {
			if _, err := strconv.ParseInt(x, 10, 64); err != nil {
				t.Fatalf("sample %q: %v", l, err)
			}
		}
	}
	if stop := startUITrace("", v); stop == nil {
		t.Fatal("no stop func without a trace file")
	}
}
