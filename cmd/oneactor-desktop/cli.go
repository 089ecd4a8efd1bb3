package main

import (
	"flag"
	"fmt"
	"io"
	"os"

	oneactor "github.com/oneactor/oneactor-desktop"
	"github.com/oneactor/oneactor-desktop/core/ort"
	"github.com/oneactor/oneactor-desktop/core/service"
	"github.com/oneactor/oneactor-desktop/gui"
	"github.com/oneactor/oneactor-desktop/storage"
)

const usage = `Usage: oneactor-desktop [flags] [command]

Commands:
  (none)    open the app window
  doctor    print ONNX Runtime, provider and data-folder diagnostics
  library   backup FILE | check: copy or check the library database
  generate  make pictures from the command line (generate -h for flags)
  models [DIR…]          list the bundled model and model folders, and why any is unusable
  subject cast|tune|list|show|export|import     OneActor subjects (subject -h)
  gradcheck MODEL.onnx   check compiled gradients against finite differences
  bench generate         time the pipeline: wall time, share inside ONNX Runtime, peak memory
  bench grad             time one forward+backward of the UNet over the tuning rows
  bench quality          judge-measured benchmark of a model family with a judge (ToyWorld), vs PyTorch
  version   print the version
  help      show this help

Flags:
`

// run parses the command line and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("oneactor-desktop", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dataDir := fs.String("data-dir", "", "library folder (default $"+storage.DataDirEnv+", else ~/.local/share/oneactor)")
	provider := fs.String("provider", "auto", "execution provider: auto (CUDA, else CPU), cuda or cpu")
	threads := fs.Int("threads", 0, "CPU threads for ONNX Runtime (0: one per core)")
	fs.Usage = func() {
		fmt.Fprint(stderr, usage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	prov, err := ort.ParseProvider(*provider)
	if err != nil {
		fmt.Fprintln(stderr, "oneactor-desktop:", err)
		return 2
	}
	dir, err := storage.DataDir(*dataDir, os.Getenv)
	if err != nil {
		fmt.Fprintln(stderr, "oneactor-desktop:", err)
		return 1
	}
	svc := service.New(service.Config{DataDir: dir, Provider: prov, Threads: *threads})

	cmd := fs.Arg(0)
	switch cmd {
	case "":
		if err := storage.EnsureDataDir(dir); err != nil {
			fmt.Fprintln(stderr, "oneactor-desktop:", err)
			return 1
		}
		gui.Run(svc)
		return 0
	case "doctor":
		d := svc.Diagnostics()
		fmt.Fprint(stdout, d.Text())
		if !d.OK() {
			return 1
		}
		return 0
	case "generate":
		return runGenerate(fs.Args()[1:], svc, stdout, stderr)
	case "subject":
		return runSubject(fs.Args()[1:], svc, stdout, stderr)
	case "models":
		return runModels(fs.Args()[1:], svc, stdout)
	case "bench":
		return runBench(fs.Args()[1:], svc, stdout, stderr)
	case "gradcheck":
		return runGradcheck(fs.Args()[1:], svc, stdout, stderr)
	case "library":
		return runLibrary(fs.Args()[1:], dir, stdout, stderr)
	case "version":
		info := oneactor.AppInfo().Details
		fmt.Fprintf(stdout, "%s %s (build %d)\n", info.Name, info.Version, info.Build)
		return 0
	case "help":
		fs.Usage()
		return 0
	default:
		fmt.Fprintf(stderr, "oneactor-desktop: unknown command %q\n", cmd)
		fs.Usage()
		return 2
	}
}
