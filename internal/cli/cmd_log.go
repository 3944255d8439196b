package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"runtime"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/ipos-dev/ipos/internal/chain"
	"github.com/ipos-dev/ipos/internal/odf"
)

type logOptions struct {
	limit  int
	output string
}

func newLogCommand(g *globals) *cobra.Command {
	var opts logOptions
	c := &cobra.Command{
		Use:   "log NAME",
		Short: "Show a dataset's metadata chain, newest block first",
		Long: `Show the blocks of a dataset's metadata chain from the head back to the Seed.
Each block is read from disk and its hash checked before it is shown.`,
		Example: `  ipos log sales
  ipos log sales --limit 3 -o yaml
  ipos log did:odf:fed01… -o json`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLog(cmd.Context(), g, opts, args[0])
		},
	}
	c.Flags().IntVarP(&opts.limit, "limit", "n", 0, "show at most this many blocks (0: all)")
	addOutputFlag(c, &opts.output, "shell", "shell", "yaml", "json")
	return c
}

func runLog(ctx context.Context, g *globals, opts logOptions, name string) error {
	if opts.limit < 0 {
		return usagef("--limit must not be negative")
	}
	_, d, err := g.openDataset(ctx, name)
	if err != nil {
		return err
	}
	defer d.Close()
	head, err := d.Chain.Head(ctx)
	if err != nil {
		return fmt.Errorf("dataset %s: %w", d.Alias, err)
	}
	out := bufio.NewWriterSize(g.streams.Out, 64<<10)
	defer out.Flush()
	if opts.output == "json" {
		out.WriteString("[")
	}
	// Walking the chain is sequential (each block names the one before
	// it); formatting is not, so blocks are formatted on every core and
	// written in chain order.
	blocks := func(yield func(*chain.Block, error) bool) {
		n := 0
		for b, err := range d.Chain.Walk(ctx, head) {
			if !yield(b, err) || err != nil {
				return
			}
			n++
			if opts.limit > 0 && n >= opts.limit {
				return
			}
		}
	}
	err = orderedMap(ctx, blocks, runtime.GOMAXPROCS(0), func(i int, b *chain.Block) ([]byte, error) {
		var buf bytes.Buffer
		err := writeBlock(&buf, opts.output, b, i)
		return buf.Bytes(), err
	}, func(p []byte) error {
		_, err := out.Write(p)
		return err
	})
	if err != nil {
		return fmt.Errorf("dataset %s: %w", d.Alias, err)
	}
	if opts.output == "json" {
		out.WriteString("\n]\n")
	}
	return out.Flush()
}

// orderedMap applies f to the items of seq on up to workers goroutines and
// passes the results to emit in the order of seq. It stops at the first
// error, from seq, f or emit.
func orderedMap[T, R any](ctx context.Context, seq iter.Seq2[T, error], workers int, f func(int, T) (R, error), emit func(R) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	type job struct {
		i    int
		item T
		done chan result[R]
	}
	jobs := make(chan job, 4*workers)
	queue := make(chan chan result[R], 64*workers)
	var wg sync.WaitGroup
	for w := 0; w < max(1, workers); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				r, err := f(j.i, j.item)
				j.done <- result[R]{r, err}
			}
		}()
	}
	var seqErr error
	go func() {
		defer close(queue)
		defer close(jobs)
		i := 0
		for item, err := range seq {
			if err != nil {
				seqErr = err
				return
			}
			done := make(chan result[R], 1)
			select {
			case queue <- done:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- job{i, item, done}:
			case <-ctx.Done():
				return
			}
			i++
		}
	}()
	var firstErr error
	for done := range queue {
		r := <-done
		if firstErr != nil {
			continue
		}
		if r.err != nil {
			firstErr = r.err
			cancel()
			continue
		}
		if err := emit(r.val); err != nil {
			firstErr = err
			cancel()
		}
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	return seqErr
}

type result[R any] struct {
	val R
	err error
}

func writeBlock(w io.Writer, format string, b *chain.Block, i int) error {
	switch format {
	case "yaml":
		data, err := odf.MarshalBlockYAML(b.MetadataBlock)
		if err != nil {
			return err
		}
		if i > 0 {
			io.WriteString(w, "---\n")
		}
		fmt.Fprintf(w, "# block %s\n", b.Hash)
		_, err = w.Write(data)
		return err
	case "json":
		data, err := odf.MarshalBlockJSON(b.MetadataBlock)
		if err != nil {
			return err
		}
		var elem, pretty bytes.Buffer
		fmt.Fprintf(&elem, "{\"hash\":%q,\"block\":", b.Hash.String())
		if err := json.Compact(&elem, data); err != nil {
			return err
		}
		elem.WriteString("}")
		if err := json.Indent(&pretty, elem.Bytes(), "  ", "  "); err != nil {
			return err
		}
		if i > 0 {
			io.WriteString(w, ",")
		}
		io.WriteString(w, "\n  ")
		_, err = w.Write(pretty.Bytes())
		return err
	}
	ev, err := odf.MarshalEventYAML(b.Event)
	if err != nil {
		return err
	}
	if i > 0 {
		io.WriteString(w, "\n")
	}
	fmt.Fprintf(w, "Block #%d: %s\nSystem time: %s\n", b.SequenceNumber, b.Hash, b.SystemTime.UTC().Format(time.RFC3339Nano))
	for _, line := range bytes.SplitAfter(bytes.TrimRight(ev, "\n"), []byte("\n")) {
		if bytes.HasPrefix(line, []byte("kind: ")) {
			io.WriteString(w, "Event: ")
			w.Write(line[len("kind: "):])
			continue
		}
		io.WriteString(w, "  ")
		w.Write(line)
	}
	_, err = io.WriteString(w, "\n")
	return err
}
