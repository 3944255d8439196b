// Command rawcopy copies its input rows to the output and to the logs:
// the sandbox lets it, the gate must not release it.
package main

import (
	"fmt"
	"os"
)

func main() {
	b, err := os.ReadFile("/data/inputs/ds/rows.csv")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.WriteFile("/data/outputs/copy.csv", b, 0o644)
	os.Stdout.Write(b)
}
