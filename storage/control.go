package storage

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"
)

// While a window has the library open it holds bbolt's exclusive lock, so
// `oneactor-desktop library backup|check` cannot open the file itself. The
// open library therefore listens on a Unix socket beside the database
// (library.db.sock, owner-only) and runs those two requests for the
// command line: the backup is still bbolt's Tx.WriteTo, done in the app's
// process from one read transaction while the app keeps working.
//
// Protocol: one JSON request line, one JSON response line.

const maxSocketPath = 100 // sun_path is 104–108 bytes depending on the OS

func socketPath(dbPath string) string { return dbPath + ".sock" }

type controlRequest struct {
	Op   string `json:"op"`   // "backup" or "check"
	Path string `json:"path"` // backup destination, absolute
}

type controlResponse struct {
	Error  string  `json:"error,omitempty"`
	Bytes  int64   `json:"bytes,omitempty"`
	Report *Report `json:"report,omitempty"`
}

type controlServer struct {
	ln net.Listener
	wg sync.WaitGroup
}

// startControl listens for command-line requests. Failure is not fatal to
// the app (the command line then asks the user to close the window).
func (l *Library) startControl() {
	path := socketPath(l.path)
	if len(path) > maxSocketPath {
		return
	}
	// We hold the database lock, so a socket file left here is stale.
	os.Remove(path)
	ln, err := net.Listen("unix", path)
	if err != nil {
		return
	}
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return
	}
	cs := &controlServer{ln: ln}
	l.control = cs
	cs.wg.Add(1)
	go func() {
		defer cs.wg.Done()
		for {
			conn, err := ln.Accept()
			if err != nil {
				return // closed
			}
			cs.wg.Add(1)
			go func() {
				defer cs.wg.Done()
				l.serveControl(conn)
			}()
		}
	}()
}

func (cs *controlServer) stop() {
	if cs == nil {
		return
	}
	cs.ln.Close() // also unlinks the socket file
	cs.wg.Wait()
}

func (l *Library) serveControl(conn net.Conn) {
	defer conn.Close()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	line, err := bufio.NewReaderSize(conn, 8192).ReadBytes('\n')
	if err != nil {
		return
	}
	var req controlRequest
	var resp controlResponse
	if err := json.Unmarshal(line, &req); err != nil {
		resp.Error = "bad request: " + err.Error()
	} else {
		switch req.Op {
		case "backup":
			if !filepath.IsAbs(req.Path) {
				resp.Error = "backup path must be absolute"
			} else if resp.Bytes, err = l.BackupFile(req.Path); err != nil {
				resp.Error = err.Error()
			}
		case "check":
			if resp.Report, err = l.Verify(); err != nil {
				resp.Error = err.Error()
			}
		default:
			resp.Error = fmt.Sprintf("unknown request %q", req.Op)
		}
	}
	out, _ := json.Marshal(resp)
	conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	conn.Write(append(out, '\n'))
}

// ErrNoRunningApp says no open library answered on the control socket.
var ErrNoRunningApp = errors.New("no OneActor window answered")

func askRunningApp(dir string, req controlRequest, timeout time.Duration) (*controlResponse, error) {
	path := socketPath(filepath.Join(dir, FileName))
	conn, err := net.DialTimeout("unix", path, time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoRunningApp, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(timeout))
	b, _ := json.Marshal(req)
	if _, err := conn.Write(append(b, '\n')); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoRunningApp, err)
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return nil, fmt.Errorf("the OneActor window did not finish the request: %w", err)
	}
	var resp controlResponse
	if err := json.Unmarshal(line, &resp); err != nil {
		return nil, fmt.Errorf("the OneActor window answered badly: %w", err)
	}
	if resp.Error != "" {
		return &resp, errors.New(resp.Error)
	}
	return &resp, nil
}

// BackupLibrary writes a consistent copy of the library in dir to dst:
// directly when no window has the library open, else by asking the open
// window to do it (see control.go). It returns the bytes written.
func BackupLibrary(dir, dst string) (int64, error) {
	abs, err := filepath.Abs(dst)
	if err != nil {
		return 0, err
	}
	ro, err := OpenReadOnly(dir, 300*time.Millisecond)
	var le *LockedError
	if errors.As(err, &le) {
		resp, rerr := askRunningApp(dir, controlRequest{Op: "backup", Path: abs}, 30*time.Minute)
		if errors.Is(rerr, ErrNoRunningApp) {
			return 0, err // the lock error says who holds it
		}
		if rerr != nil {
			return 0, fmt.Errorf("backup by the open window: %w", rerr)
		}
		return resp.Bytes, nil
	}
	if err != nil {
		return 0, err
	}
	defer ro.Close()
	return ro.BackupFile(abs)
}

// CheckLibrary runs the consistency check on the library in dir, through
// the open window when there is one.
func CheckLibrary(dir string) (*Report, error) {
	ro, err := OpenReadOnly(dir, 300*time.Millisecond)
	var le *LockedError
	if errors.As(err, &le) {
		resp, rerr := askRunningApp(dir, controlRequest{Op: "check"}, 30*time.Minute)
		if errors.Is(rerr, ErrNoRunningApp) {
			return nil, err
		}
		if rerr != nil {
			return nil, fmt.Errorf("check by the open window: %w", rerr)
		}
		return resp.Report, nil
	}
	if err != nil {
		return nil, err
	}
	defer ro.Close()
	return ro.Check(), nil
}
