# OneActor Desktop. The two commands a new user needs:
#   make run    build and open the app (installs what is missing first)
#   make test   run the whole test suite (installs what is missing first)

ORT_VERSION := 1.30.0
ORT_DIR     := $(CURDIR)/.deps/onnxruntime-$(ORT_VERSION)
PKG         := github.com/oneactor/oneactor-desktop
# The binary and the tests find the downloaded ONNX Runtime through this
# link-time default; ONNXRUNTIME_LIB still overrides it (e.g. a CUDA build).
LDFLAGS     := -X $(PKG)/core/ort.BundledDir=$(ORT_DIR)
BIN         := bin/oneactor-desktop

.PHONY: all setup build run test doctor screenshot clean
all: build

setup:
	@scripts/setup.sh

build: setup
	go build -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/oneactor-desktop

run: build
	./$(BIN) $(ARGS)

doctor: build
	./$(BIN) doctor

test: setup
	go vet -tags ci ./...
	go test -tags ci -ldflags '$(LDFLAGS)' -count=1 ./...
	CGO_ENABLED=0 go test -count=1 ./gui/widgets/

screenshot: build
	scripts/screenshot $(or $(OUT),screenshot.png)

clean:
	rm -rf bin
