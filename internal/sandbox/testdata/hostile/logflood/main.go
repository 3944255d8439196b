// Command logflood prints without end, ignoring errors.
package main

import (
	"fmt"
	"os"
)

func main() {
	for i := 0; ; i++ {
		fmt.Println("log line", i, "with some padding to make it longer")
		fmt.Fprintln(os.Stderr, "err line", i)
	}
}
