// Command devrandom tries the host's random devices and prints what
// crypto/rand gives it, which without AllowRandom must be the same on
// every run.
package main

import (
	"crypto/rand"
	"fmt"
	"os"
)

func main() {
	for _, p := range []string{"/dev/random", "/dev/urandom", "/dev/zero"} {
		_, err := os.ReadFile(p)
		fmt.Printf("read %s: %v\n", p, err)
	}
	b := make([]byte, 16)
	rand.Read(b)
	fmt.Printf("random %x\n", b)
}
