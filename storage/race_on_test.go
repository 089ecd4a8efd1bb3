//go:build race

package storage

// raceBuild: the race detector makes each re-executed child several times
// slower to start, so the crash test does fewer kills under -race (the full
// 200 run in the plain build, as in make test).
const raceBuild = true
