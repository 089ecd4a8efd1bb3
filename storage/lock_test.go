package storage

import (
	"bufio"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

const holdDirEnv = "ONEACTOR_HOLD_DIR"

// TestHoldChild keeps a library open in a child process ("another window").
func TestHoldChild(t *testing.T) {
	dir := os.Getenv(holdDirEnv)
	if dir == "" {
		t.Skip("only runs as the child of TestSecondWindowIsToldThePID")
	}
	l, err := Open(dir, nil)
	if err != nil {
		os.Stdout.WriteString("error " + err.Error() + "\n")
		os.Exit(3)
	}
	defer l.Close()
	os.Stdout.WriteString("ready\n")
	time.Sleep(60 * time.Second)
}

func TestSecondWindowIsToldThePID(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHoldChild$")
	cmd.Env = append(os.Environ(), holdDirEnv+"="+dir)
	out, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(out).ReadString('\n')
	if line != "ready\n" {
		t.Fatalf("child: %q", line)
	}
	start := time.Now()
	_, err := Open(dir, nil)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Fatalf("open beside another window: %v (child pid %d)", err, cmd.Process.Pid)
	}
	if took := time.Since(start); took > DefaultLockTimeout+time.Second {
		t.Fatalf("waited %v", took)
	}
	t.Logf("%v after %v", err, time.Since(start).Round(time.Millisecond))
	// The command line's backup and check go through the other window.
	dst := filepath.Join(t.TempDir(), FileName)
	if n, err := BackupLibrary(dir, dst); err != nil || n == 0 {
		t.Fatalf("backup through the other window: %d %v", n, err)
	}
	if rep, err := CheckLibrary(filepath.Dir(dst)); err != nil || !rep.OK() {
		t.Fatalf("backup made by the other window: %+v %v", rep, err)
	}
	if rep, err := CheckLibrary(dir); err != nil || !rep.OK() {
		t.Fatalf("check through the other window: %+v %v", rep, err)
	}
	// The window dies without closing: its stale note does not block us.
	cmd.Process.Kill()
	cmd.Wait()
	l, err := Open(dir, nil)
	if err != nil {
		t.Fatalf("open after the other window died: %v", err)
	}
	defer l.Close()
	if readOwnerPID(l.Path()) != os.Getpid() {
		t.Fatal("owner note not ours")
	}
}
