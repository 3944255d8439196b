// Command outflood writes outputs without end, ignoring errors, in ever
// more files.
package main

import (
	"fmt"
	"os"
)

func main() {
	chunk := make([]byte, 1<<20)
	for i := 0; ; i++ {
		f, err := os.Create(fmt.Sprintf("/data/outputs/flood-%d", i%3))
		if err != nil {
			continue
		}
		for j := 0; j < 8; j++ {
			f.Write(chunk)
		}
		f.Close()
		os.WriteFile(fmt.Sprintf("/data/outputs/small-%d", i), []byte("x"), 0o644)
	}
}
