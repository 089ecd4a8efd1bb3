package storage

import (
	"errors"
	"fmt"
)

// ErrNotFound is returned (wrapped) when a subject, generation, job, blob
// or setting does not exist.
var ErrNotFound = errors.New("not found")

// ErrCorrupt is matched (errors.Is) by every *CorruptError.
var ErrCorrupt = errors.New("library file is damaged")

// LockedError says another process holds the library open. PID is 0 when
// the holder could not be identified (its owner note was missing).
type LockedError struct {
	Path string
	PID  int
}

func (e *LockedError) Error() string {
	if e.PID > 0 {
		return fmt.Sprintf("the library is open in another OneActor window (pid %d)", e.PID)
	}
	return "the library is open in another OneActor window"
}

// CorruptError says the database file cannot be used as it is. The file
// has not been modified; MoveAside lets the user start a new library while
// keeping the old file.
type CorruptError struct {
	Path   string
	Reason string
	Err    error
}

func (e *CorruptError) Error() string {
	msg := fmt.Sprintf("the library file %s is damaged or is not a OneActor library: %s", e.Path, e.Reason)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg + " (the file was left untouched)"
}

func (e *CorruptError) Unwrap() []error { return []error{ErrCorrupt, e.Err} }

// NewerSchemaError says the library was written by a newer version of the
// app; opening it would risk losing data the newer version stores.
type NewerSchemaError struct {
	Path      string
	Version   int
	Supported int
}

func (e *NewerSchemaError) Error() string {
	return fmt.Sprintf("the library %s was written by a newer OneActor (schema version %d; this version understands up to %d): update the app", e.Path, e.Version, e.Supported)
}

// BundleError says a .oneactor bundle was refused; nothing was written.
type BundleError struct {
	Reason string
	Err    error
}

func (e *BundleError) Error() string {
	msg := "bundle refused: " + e.Reason
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

func (e *BundleError) Unwrap() error { return e.Err }

// FingerprintMismatchError says a bundle's subject was tuned on another
// model. Importing with ImportOptions.Force stores it marked incompatible.
type FingerprintMismatchError struct {
	Bundle, Want string
}

func (e *FingerprintMismatchError) Error() string {
	return fmt.Sprintf("bundle refused: the subject was made with model %s but the current model is %s (import anyway to keep it, marked incompatible)", short(e.Bundle), short(e.Want))
}

func short(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "…"
	}
	if fp == "" {
		return "(none)"
	}
	return fp
}
