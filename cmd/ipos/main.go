// Command ipos is the IPOS data operating system: verifiable datasets,
// declarative resources, policies, compute-to-data and an audit log, in one
// binary. See the README for a tour.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/ipos-dev/ipos/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr})
	stop()
	os.Exit(code)
}
