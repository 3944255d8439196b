// Command aggregate is the demo compute-to-data algorithm: it reads every
// CSV file of one input dataset, groups the rows by a column and writes,
// per group, the number of rows and the mean of a numeric column.
//
// It is portable Go: built with GOOS=wasip1 GOARCH=wasm it runs in the
// IPOS sandbox, where the dataset is under /data/inputs/<dataset>/ and the
// result goes to /data/outputs/result.csv; built natively it runs on a
// directory given with -inputs, which is how the benchmark compares the two.
//
// Usage:
//
//	aggregate -dataset covid.daily -group region -value cases
//
// Flags may also come from the environment: DATASET, GROUP, VALUE.
// Rows whose value cell is empty or not a number count towards the group's
// rows but not its mean; the output lists them in the column skipped.
package main

import (
	"bufio"
	"encoding/csv"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

type group struct {
	rows    int64
	n       int64 // rows with a numeric value
	sum     float64
	skipped int64
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "aggregate:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fl := flag.NewFlagSet("aggregate", flag.ContinueOnError)
	dataset := fl.String("dataset", os.Getenv("DATASET"), "input dataset name (folder under -inputs)")
	groupBy := fl.String("group", os.Getenv("GROUP"), "column to group by")
	value := fl.String("value", os.Getenv("VALUE"), "numeric column to average")
	inputs := fl.String("inputs", "/data/inputs", "folder of input datasets")
	out := fl.String("out", "/data/outputs/result.csv", "result file")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *dataset == "" || *groupBy == "" || *value == "" {
		return errors.New("-dataset, -group and -value are required")
	}
	files, err := filepath.Glob(filepath.Join(*inputs, *dataset, "*.csv"))
	if err != nil {
		return err
	}
	if len(files) == 0 {
		return fmt.Errorf("no CSV files in %s", filepath.Join(*inputs, *dataset))
	}
	sort.Strings(files)
	groups := map[string]*group{}
	for _, f := range files {
		if err := aggregateFile(f, *groupBy, *value, groups); err != nil {
			return err
		}
	}
	return writeResult(*out, *groupBy, groups)
}

func aggregateFile(path, groupBy, value string, groups map[string]*group) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	// A large buffer: in the sandbox every read is a call to the host.
	r := csv.NewReader(bufio.NewReaderSize(f, 64<<10))
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return fmt.Errorf("%s: header: %w", path, err)
	}
	gi, vi := -1, -1
	for i, h := range header {
		switch strings.TrimSpace(h) {
		case groupBy:
			gi = i
		case value:
			vi = i
		}
	}
	if gi < 0 || vi < 0 {
		return fmt.Errorf("%s: needs columns %q and %q, has %s", path, groupBy, value, strings.Join(header, ","))
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		g := groups[rec[gi]]
		if g == nil {
			g = &group{}
			groups[strings.Clone(rec[gi])] = g
		}
		g.rows++
		v, err := strconv.ParseFloat(strings.TrimSpace(rec[vi]), 64)
		if err != nil {
			g.skipped++
			continue
		}
		g.n++
		g.sum += v
	}
}

func writeResult(path, groupBy string, groups map[string]*group) error {
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	w.Write([]string{groupBy, "count", "mean", "skipped"})
	for _, k := range keys {
		g := groups[k]
		mean := ""
		if g.n > 0 {
			mean = strconv.FormatFloat(g.sum/float64(g.n), 'f', 4, 64)
		}
		w.Write([]string{k, strconv.FormatInt(g.rows, 10), mean, strconv.FormatInt(g.skipped, 10)})
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
