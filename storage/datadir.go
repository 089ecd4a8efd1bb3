package storage

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// DataDirEnv overrides the data folder (the --data-dir flag wins over it).
const DataDirEnv = "ONEACTOR_DATA_DIR"

// DataDir resolves the data folder: the flag value if given, then
// $ONEACTOR_DATA_DIR, then $XDG_DATA_HOME/oneactor, then
// ~/.local/share/oneactor (the XDG default). The result is absolute.
func DataDir(flagValue string, getenv func(string) string) (string, error) {
	pick := func(dir, from string) (string, error) {
		abs, err := filepath.Abs(dir)
		if err != nil {
			return "", fmt.Errorf("data folder from %s: %w", from, err)
		}
		return abs, nil
	}
	if flagValue != "" {
		return pick(flagValue, "--data-dir")
	}
	if v := getenv(DataDirEnv); v != "" {
		return pick(v, DataDirEnv)
	}
	// The XDG spec says relative values are invalid and must be ignored.
	if v := getenv("XDG_DATA_HOME"); v != "" && filepath.IsAbs(v) {
		return filepath.Join(v, "oneactor"), nil
	}
	home := getenv("HOME")
	if home == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", errors.New("no home folder to put the library in: set " + DataDirEnv + " or pass --data-dir")
		}
		home = h
	}
	return filepath.Join(home, ".local", "share", "oneactor"), nil
}

// EnsureDataDir creates the folder (private to the user) if needed and
// checks that it is a writable folder.
func EnsureDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create data folder %s: %w", dir, err)
	}
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("data folder %s: %w", dir, err)
	}
	if !st.IsDir() {
		return fmt.Errorf("data folder %s is a file, not a folder", dir)
	}
	probe, err := os.CreateTemp(dir, ".write-test-*")
	if err != nil {
		return fmt.Errorf("data folder %s is not writable: %w", dir, err)
	}
	probe.Close()
	return os.Remove(probe.Name())
}
