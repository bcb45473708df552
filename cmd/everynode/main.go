// Command everynode runs the everynode control plane, node agent and tools.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/everynode/everynode/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Run(ctx, os.Args[1:], cli.IO{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr})
	stop()
	os.Exit(code)
}
