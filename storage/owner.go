package storage

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The owner note sits beside the database (library.db.owner) and names the
// process holding it, so a second window can say who has the library open.
// bbolt's flock is the real lock; this file is only information and may be
// stale after a crash (it is then overwritten by the next opener).

func ownerPath(dbPath string) string { return dbPath + ".owner" }

func writeOwner(dbPath string) error {
	host, _ := os.Hostname()
	note := fmt.Sprintf("pid %d\nhost %s\nsince %s\n", os.Getpid(), host, time.Now().UTC().Format(time.RFC3339))
	tmp := ownerPath(dbPath) + ".tmp"
	if err := os.WriteFile(tmp, []byte(note), 0o600); err != nil {
		return fmt.Errorf("write owner note: %w", err)
	}
	if err := os.Rename(tmp, ownerPath(dbPath)); err != nil {
		return fmt.Errorf("write owner note: %w", err)
	}
	return nil
}

// readOwnerPID returns the pid in the owner note, 0 when unknown.
func readOwnerPID(dbPath string) int {
	b, err := os.ReadFile(ownerPath(dbPath))
	if err != nil || len(b) > 4096 {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "pid "); ok {
			if n, err := strconv.Atoi(strings.TrimSpace(rest)); err == nil && n > 0 {
				return n
			}
		}
	}
	return 0
}

// removeOwner deletes the note if it is still ours.
func removeOwner(dbPath string) {
	if readOwnerPID(dbPath) == os.Getpid() {
		os.Remove(ownerPath(dbPath))
	}
}
