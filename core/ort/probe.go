package ort

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

// The two leading members of OrtApiBase from onnxruntime_c_api.h; that prefix
// of the struct is frozen by ONNX Runtime's ABI promise.
typedef struct {
	const void* (*GetApi)(unsigned int version);
	const char* (*GetVersionString)(void);
} probeApiBase;

typedef const probeApiBase* (*probeGetApiBaseFn)(void);

// probe_version opens a library, reads its ONNX Runtime version string and
// whether it offers C API `api`. Returns 0 on success, 1 when dlopen fails,
// 2 when the library has no OrtGetApiBase. The copy of the version string is
// made before the library is closed.
static int probe_version(const char* path, unsigned int api, char* ver, size_t n,
                         int* has_api, char* err, size_t errn) {
	void* h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
	if (!h) {
		const char* e = dlerror();
		strncpy(err, e ? e : "dlopen failed", errn - 1);
		err[errn - 1] = 0;
		return 1;
	}
	probeGetApiBaseFn fn = (probeGetApiBaseFn)dlsym(h, "OrtGetApiBase");
	if (!fn) {
		const char* e = dlerror();
		strncpy(err, e ? e : "no OrtGetApiBase", errn - 1);
		err[errn - 1] = 0;
		dlclose(h);
		return 2;
	}
	const probeApiBase* base = fn();
	const char* v = (base && base->GetVersionString) ? base->GetVersionString() : "";
	strncpy(ver, v ? v : "", n - 1);
	ver[n - 1] = 0;
	*has_api = (base && base->GetApi && base->GetApi(api) != NULL) ? 1 : 0;
	dlclose(h);
	return 0;
}
*/
import "C"

import (
	"unsafe"
)

// probeResult is what probing a candidate library found.
type probeResult struct {
	loadErr  string // dlopen failed: missing dependency, wrong architecture, not an ELF...
	notORT   string // loaded, but exports no OrtGetApiBase
	version  string // ORT's own version string
	hasAPI   bool   // offers the C API version the binding needs
	probeRan bool
}

// probeLibrary opens the library in isolation (RTLD_LOCAL, closed again) so
// the version can be read before the binding commits to it: the binding's
// own failure path frees the library and leaves no way to ask its version.
func probeLibrary(path string, apiVersion uint) probeResult {
	cPath := C.CString(path)
	defer C.free(unsafe.Pointer(cPath))
	var ver [64]C.char
	var errBuf [512]C.char
	var hasAPI C.int
	rc := C.probe_version(cPath, C.uint(apiVersion), &ver[0], C.size_t(len(ver)),
		&hasAPI, &errBuf[0], C.size_t(len(errBuf)))
	r := probeResult{probeRan: true}
	switch rc {
	case 1:
		r.loadErr = C.GoString(&errBuf[0])
	case 2:
		r.notORT = C.GoString(&errBuf[0])
	default:
		r.version = C.GoString(&ver[0])
		r.hasAPI = hasAPI != 0
	}
	return r
}
