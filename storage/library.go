package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the database file inside the data folder.
const FileName = "library.db"

// DefaultLockTimeout is how long Open waits for another process to let go
// of the library before reporting a *LockedError.
const DefaultLockTimeout = 500 * time.Millisecond

// Options tune Open. The zero value is fine.
type Options struct {
	LockTimeout time.Duration // 0: DefaultLockTimeout
	// NoSync skips fsync; only for benchmarks and throwaway libraries.
	NoSync bool
}

// Library is an open user library. Its methods are safe for concurrent use:
// any number of readers run alongside one writer.
type Library struct {
	db      *bolt.DB
	path    string
	control *controlServer
}

// Path is the database file.
func (l *Library) Path() string { return l.path }

// Open opens (creating if needed) the library in the data folder dir,
// migrating an older schema forward. Errors: *LockedError when another
// window has it, *CorruptError for a damaged or foreign file,
// *NewerSchemaError for a file from a newer app; in all these cases the
// file is not modified.
func Open(dir string, opts *Options) (*Library, error) {
	if opts == nil {
		opts = &Options{}
	}
	timeout := opts.LockTimeout
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	if err := EnsureDataDir(dir); err != nil {
		return nil, err
	}
	path := filepath.Join(dir, FileName)

	// Inspect an existing file read-only first: a read-write open of a
	// truncated file would fault on pages past its end, and bbolt may write
	// to a file it opens read-write. Only a file that passes is reopened
	// for writing.
	if st, err := os.Stat(path); err == nil && st.Size() > 0 {
		if err := preflight(path, timeout); err != nil {
			return nil, err
		}
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("library file %s: %w", path, err)
	}

	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: timeout, NoSync: opts.NoSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, classifyOpenError(path, err)
	}
	db.NoSync = opts.NoSync
	l := &Library{db: db, path: path}
	if err := writeOwner(path); err != nil {
		db.Close()
		return nil, err
	}
	if err := l.prepare(); err != nil {
		l.Close()
		return nil, err
	}
	l.startControl()
	return l, nil
}

// preflight opens the file read-only and checks what can be checked
// cheaply: both meta pages (bbolt), the file is as long as the meta page
// says, and it holds a OneActor schema this code understands.
func preflight(path string, timeout time.Duration) error {
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return classifyOpenError(path, err)
	}
	defer db.Close()
	st, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("library file %s: %w", path, err)
	}
	return db.View(func(tx *bolt.Tx) error {
		if need := tx.Size(); need > st.Size() {
			return &CorruptError{Path: path, Reason: fmt.Sprintf("the file is truncated (%d bytes, the database needs %d)", st.Size(), need)}
		}
		v, err := readSchema(tx)
		if err != nil {
			return &CorruptError{Path: path, Reason: "not a OneActor library", Err: err}
		}
		if v > SchemaVersion {
			return &NewerSchemaError{Path: path, Version: v, Supported: SchemaVersion}
		}
		return nil
	})
}

func classifyOpenError(path string, err error) error {
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return &LockedError{Path: path, PID: readOwnerPID(path)}
	case errors.Is(err, os.ErrPermission), errors.Is(err, os.ErrNotExist):
		return fmt.Errorf("open library %s: %w", path, err)
	default:
		// Invalid/checksum/version-mismatch meta pages, a file too small
		// to hold them, or a failed mapping: the content is unusable.
		return &CorruptError{Path: path, Reason: "bbolt cannot read it", Err: err}
	}
}

// prepare migrates the schema and records jobs a crash interrupted.
func (l *Library) prepare() error {
	var from int
	if err := l.db.View(func(tx *bolt.Tx) error {
		v, err := readSchema(tx)
		from = v
		return err
	}); err != nil {
		return &CorruptError{Path: l.path, Reason: "not a OneActor library", Err: err}
	}
	if from > SchemaVersion {
		return &NewerSchemaError{Path: l.path, Version: from, Supported: SchemaVersion}
	}
	if from != SchemaVersion {
		if err := l.db.Update(func(tx *bolt.Tx) error { return upgrade(tx, from) }); err != nil {
			return fmt.Errorf("library %s: %w", l.path, err)
		}
	}
	return l.markInterrupted()
}

// Close releases the library (and the single-instance lock).
func (l *Library) Close() error {
	if l == nil || l.db == nil {
		return nil
	}
	l.control.stop()
	l.control = nil
	removeOwner(l.path)
	err := l.db.Close()
	if err != nil {
		return fmt.Errorf("close library: %w", err)
	}
	return nil
}

// MoveAside renames a library file the user agreed to give up on (after
// Open returned a *CorruptError) to library.db.broken-TIMESTAMP beside it,
// so that the next Open starts a new library. It returns the new name.
func MoveAside(dir string) (string, error) {
	path := filepath.Join(dir, FileName)
	// Never pull the file from under a window that has it open: taking
	// the shared lock fails only while someone holds it for writing.
	if db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 100 * time.Millisecond}); err == nil {
		db.Close()
	} else if errors.Is(err, berrors.ErrTimeout) {
		return "", &LockedError{Path: path, PID: readOwnerPID(path)}
	}
	dst := fmt.Sprintf("%s.broken-%s", path, time.Now().UTC().Format("20060102T150405Z"))
	for i := 2; ; i++ {
		if _, err := os.Lstat(dst); errors.Is(err, os.ErrNotExist) {
			break
		}
		dst = fmt.Sprintf("%s.broken-%s-%d", path, time.Now().UTC().Format("20060102T150405Z"), i)
	}
	if err := os.Rename(path, dst); err != nil {
		return "", fmt.Errorf("move library aside: %w", err)
	}
	return dst, nil
}
