// Package widgets holds the app's reusable Fyne widgets (the pose editor).
// They depend only on Fyne's widget and canvas packages and on pure-Go core
// packages — no app driver, no service, no ONNX Runtime — so their tests run
// without cgo: CGO_ENABLED=0 go test ./gui/widgets/ (fyne's software test
// driver). The rest of gui needs cgo and runs with -tags ci.
package widgets
