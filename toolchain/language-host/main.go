// pulumi-language-nodejs for Stackpilot: the engine's Node.js language host.
//
// Why it is ours: upstream's host is its own Go module (sdk/nodejs/cmd/pulumi-language-nodejs)
// with no tags, and the module proxy this project can reach refuses every version of it, while
// it serves the CLI and the SDK. The host's job is small and stable: answer the
// LanguageRuntime gRPC service, and for Run, start `node @pulumi/pulumi/cmd/run` with the
// engine's monitor address and the stack's configuration. The contract (arguments, the
// PULUMI_CONFIG variables, exit code 32) is the one the @pulumi/pulumi package's run script
// expects; it was read from upstream's host, not copied from it.
//
// Left out on purpose: code generation, packing, linking, debugger attach, dependency
// installation (setup installs node_modules) and synchronous invokes over pipes (only the
// deprecated *Sync invoke functions need them).
package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"google.golang.org/grpc"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// Stamped at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	args := os.Args[1:]
	if len(args) == 1 && (args[0] == "-version" || args[0] == "--version") {
		fmt.Println(version)
		return
	}
	// The engine passes logging and tracing flags before its own address, which comes last.
	engineAddress := ""
	if n := len(args); n > 0 && !strings.HasPrefix(args[n-1], "-") {
		engineAddress = args[n-1]
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if engineAddress != "" {
		// Exit soon after the engine goes away (a killed CLI), so no host outlives it for long.
		if err := rpcutil.Healthcheck(ctx, engineAddress, engineCheckInterval, cancel); err != nil {
			fatal("could not start health check: %v", err)
		}
	}
	host := newHost(engineAddress)

	stop := make(chan bool)
	go func() { <-ctx.Done(); close(stop) }()
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Cancel: stop,
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, host)
			return nil
		},
	})
	if err != nil {
		fatal("could not start language host: %v", err)
	}
	// The engine reads the port from the first line of stdout.
	fmt.Printf("%d\n", handle.Port)
	err = <-handle.Done
	// A program still running has lost its engine: nothing it does can be recorded any more.
	host.killPrograms()
	if err != nil {
		fatal("language host stopped serving: %v", err)
	}
}

const engineCheckInterval = 2 * time.Second

func fatal(format string, a ...any) {
	fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: "+format+"\n", a...)
	os.Exit(1)
}
