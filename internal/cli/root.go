package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/dataset"
	"github.com/ipos-dev/ipos/internal/workspace"
)

// Version is the release version, set at link time with
// -ldflags "-X github.com/ipos-dev/ipos/internal/cli.Version=v1.2.3".
var Version = "dev"

// Streams are the standard streams a command uses.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// Exit codes.
const (
	ExitOK     = 0
	ExitError  = 1
	ExitUsage  = 2
	ExitFaulty = 3
)

// usageError marks errors in how a command was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// faultError marks a verification that ran and found something wrong.
type faultError struct{ err error }

func (e faultError) Error() string { return e.err.Error() }
func (e faultError) Unwrap() error { return e.err }

// globals are the options every command shares.
type globals struct {
	streams   Streams
	workspace string // --workspace
	quiet     bool
	now       func() time.Time
	as        string          // --as: the identity to act as
	acting    *actingIdentity // resolved by actor
}

// openWorkspace finds and opens the workspace the command acts on.
func (g *globals) openWorkspace() (*workspace.Workspace, error) {
	cwd, err := os.Getwd()
	if err != nil {
		return nil, err
	}
	root, err := workspace.Find(g.workspace, cwd)
	if err != nil {
		return nil, err
	}
	return workspace.Open(root)
}

// openDataset opens the workspace and the dataset named by ref in it.
func (g *globals) openDataset(ctx context.Context, ref string) (*workspace.Workspace, *dataset.Dataset, error) {
	w, err := g.openWorkspace()
	if err != nil {
		return nil, nil, err
	}
	d, err := w.Dataset(ctx, ref)
	if err != nil {
		return nil, nil, err
	}
	return w, d, nil
}

// namesOrAll checks the arguments of a command that takes dataset names
// or --all.
func namesOrAll(all *bool) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == 0 && !*all {
			return fmt.Errorf("name a dataset, or use --all")
		}
		if len(args) > 0 && *all {
			return fmt.Errorf("use either dataset names or --all, not both")
		}
		return nil
	}
}

// Main runs the ipos command line with args and returns the exit code.
func Main(ctx context.Context, args []string, s Streams) int {
	g := &globals{streams: s, now: time.Now}
	root := newRootCommand(g)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	fmt.Fprintf(s.Err, "ipos: error: %v\n", err)
	var ue usageError
	var fe faultError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(s.Err, "Run 'ipos %s --help' for usage.\n", commandPath(root, args))
		return ExitUsage
	case errors.As(err, &fe):
		return ExitFaulty
	case errors.Is(err, context.Canceled):
		return ExitError
	}
	return ExitError
}

// commandPath is the subcommand the arguments name, for the usage hint.
func commandPath(root *cobra.Command, args []string) string {
	c, _, err := root.Find(args)
	if err != nil || c == root {
		return ""
	}
	return c.CommandPath()[len(root.Name())+1:]
}

func newRootCommand(g *globals) *cobra.Command {
	root := &cobra.Command{
		Use:   "ipos",
		Short: "IPOS: a data operating system with verifiable datasets",
		Long: `IPOS keeps datasets as verifiable, content-addressed histories (Open Data
Fabric metadata chains, compatible with kamu), declared as manifests and
checked byte for byte.

Start with 'ipos init' in an empty folder, then 'ipos add' a DatasetSnapshot
manifest, 'ipos log' it and 'ipos verify --integrity' it.`,
		Version:       versionString(),
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetIn(g.streams.In)
	root.SetOut(g.streams.Out)
	root.SetErr(g.streams.Err)
	root.Args = func(cmd *cobra.Command, args []string) error {
		if len(args) > 0 {
			return usagef("unknown command %q for ipos", args[0])
		}
		return nil
	}
	root.RunE = func(cmd *cobra.Command, args []string) error { return cmd.Help() }
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return usageError{err} })
	root.PersistentFlags().StringVarP(&g.workspace, "workspace", "w", "", "workspace folder (default: $IPOS_WORKSPACE, else the nearest folder above the current one that holds .ipos)")
	root.PersistentFlags().BoolVarP(&g.quiet, "quiet", "q", false, "print only results and errors")
	root.PersistentFlags().StringVar(&g.as, "as", "", "act as this identity, a name or did:key (default: $IPOS_IDENTITY, else 'ipos identity use', else the owner)")
	root.SetVersionTemplate("ipos {{.Version}}\n")

	root.AddCommand(
		newInitCommand(g),
		newAddCommand(g),
		newListCommand(g),
		newLogCommand(g),
		newVerifyCommand(g),
		newPullCommand(g),
		newIngestCommand(g),
		newTailCommand(g),
		newSQLCommand(g),
		newApplyCommand(g),
		newDiffCommand(g),
		newGetCommand(g),
		newDescribeCommand(g),
		newDeleteCommand(g),
		newReconcileCommand(g),
		newServeCommand(g),
		newInspectCommand(g),
		newSetWatermarkCommand(g),
		newSystemCommand(g),
		newVersionCommand(g),
		newIdentityCommand(g),
		newAuditCommand(g),
		newContractCommand(g),
		newAlgorithmCommand(g),
		newAgreementCommand(g),
		newJobCommand(g),
		newLedgerCommand(g),
		newPolicyCommand(g),
	)
	for _, c := range root.Commands() {
		if c.Args == nil {
			c.Args = cobra.NoArgs
		}
		wrapArgs(c)
	}
	return root
}

// wrapArgs makes cobra's argument-count errors usage errors.
func wrapArgs(c *cobra.Command) {
	if c.Args != nil {
		check := c.Args
		c.Args = func(cmd *cobra.Command, args []string) error {
			if err := check(cmd, args); err != nil {
				return usageError{err}
			}
			return nil
		}
	}
	for _, sub := range c.Commands() {
		wrapArgs(sub)
	}
}

func versionString() string {
	v := Version
	if info, ok := debug.ReadBuildInfo(); ok {
		if v == "dev" && info.Main.Version != "" && info.Main.Version != "(devel)" {
			v = info.Main.Version
		}
		for _, s := range info.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " (" + s.Value[:12] + ")"
			}
		}
	}
	return v
}

func newVersionCommand(g *globals) *cobra.Command {
	var output string
	c := &cobra.Command{
		Use:   "version",
		Short: "Print the ipos version",
		RunE: func(cmd *cobra.Command, args []string) error {
			return runVersion(g, output)
		},
	}
	addOutputFlag(c, &output, "text", "text", "json", "yaml")
	return c
}

func runVersion(g *globals, output string) error {
	info := map[string]string{"version": versionString(), "manifestVersion": "3"}
	if bi, ok := debug.ReadBuildInfo(); ok {
		info["go"] = bi.GoVersion
	}
	if output == "text" {
		_, err := fmt.Fprintf(g.streams.Out, "ipos %s\n", info["version"])
		return err
	}
	return printStructured(g.streams.Out, output, info)
}
