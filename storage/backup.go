package storage

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
)

// Backup writes a consistent copy of the library to w from one read
// transaction (bbolt Tx.WriteTo), while other work goes on.
func (l *Library) Backup(w io.Writer) (int64, error) {
	var n int64
	err := l.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("backup: %w", err)
	}
	return n, nil
}

// BackupFile writes the copy to path atomically (a temporary file beside it,
// synced, then renamed), so a failed backup never leaves half a file under
// the final name.
func (l *Library) BackupFile(path string) (int64, error) {
	return writeAtomically(path, l.Backup)
}

func writeAtomically(path string, write func(io.Writer) (int64, error)) (int64, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return 0, err
	}
	f, err := os.CreateTemp(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(f.Name())
	n, err := write(f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), abs)
	}
	if err != nil {
		return 0, fmt.Errorf("write %s: %w", path, err)
	}
	return n, nil
}

// OpenReadOnly opens a library file for inspection (backup, check) without
// migrating or writing anything. It shares the lock with other readers and
// fails with *LockedError while a window has the library open for writing.
func OpenReadOnly(dir string, timeout time.Duration) (*ReadOnlyLibrary, error) {
	if timeout <= 0 {
		timeout = DefaultLockTimeout
	}
	path := filepath.Join(dir, FileName)
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("library %s: %w", path, err)
	}
	if err := preflight(path, timeout); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: timeout})
	if err != nil {
		return nil, classifyOpenError(path, err)
	}
	return &ReadOnlyLibrary{db: db, path: path}, nil
}

// ReadOnlyLibrary is a library opened by OpenReadOnly.
type ReadOnlyLibrary struct {
	db   *bolt.DB
	path string
}

// Check runs the full consistency check (bbolt pages and library records).
// A file of an older schema is only page-checked.
func (r *ReadOnlyLibrary) Check() *Report {
	var rep *Report
	_ = r.db.View(func(tx *bolt.Tx) error {
		if v, err := readSchema(tx); err == nil && v < SchemaVersion {
			rep = &Report{}
			for err := range tx.Check() {
				rep.addf("bbolt: %v", err)
			}
			return nil
		}
		rep = verify(tx)
		return nil
	})
	return rep
}

// BackupFile writes a consistent copy to path (see Library.BackupFile).
func (r *ReadOnlyLibrary) BackupFile(path string) (int64, error) {
	return writeAtomically(path, func(w io.Writer) (int64, error) {
		var n int64
		err := r.db.View(func(tx *bolt.Tx) error {
			var err error
			n, err = tx.WriteTo(w)
			return err
		})
		return n, err
	})
}

// Close releases the file.
func (r *ReadOnlyLibrary) Close() error { return r.db.Close() }
