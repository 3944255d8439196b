// Command copyinputs is a hostile job algorithm: it copies every input
// file it can find to its outputs, as a consumer trying to take the raw
// data home would. The sandbox lets it; the output gate must not.
package main

import (
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
)

func main() {
	n := 0
	err := fs.WalkDir(os.DirFS("/data/inputs"), ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".csv") {
			return err
		}
		b, err := os.ReadFile(path.Join("/data/inputs", p))
		if err != nil {
			return err
		}
		n++
		return os.WriteFile(fmt.Sprintf("/data/outputs/copy-%d.csv", n), b, 0o644)
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
