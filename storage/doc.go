// Package storage keeps the user's library: where it lives on disk (DataDir)
// and the one bbolt database file in it (library.db) that holds subjects,
// generations, image and tensor blobs, models, settings and jobs.
//
// Guarantees, and where they come from:
//   - Crash safety: every change is one bbolt transaction. A tuned subject is
//     written together with the end of its job (FinishJob), so after a crash
//     there is either the whole subject or an "interrupted" job, never half.
//   - Blobs are content-addressed (SHA-256) and reference-counted inside the
//     same transactions as the records that use them; CollectGarbage
//     recounts from the records as a safety net and Verify proves there are
//     no orphans or dangling references.
//   - One writer: bbolt's file lock with a timeout; a second window gets a
//     *LockedError naming the holder's pid (from library.db.owner).
//   - Damaged files are inspected read-only first and refused with a
//     *CorruptError without being modified; MoveAside keeps them.
//   - Versioned: a schema version record with forward migrations
//     (schema.go, migrate.go; fixtures of every older schema in testdata/,
//     written by storage/internal/fixturegen), and a version in every record.
//   - Portable subjects: .oneactor bundles (bundle.go) validated completely
//     before one import transaction.
//   - Backups while the app runs: bbolt Tx.WriteTo, reachable from the
//     command line through the open window's control socket (control.go).
package storage
