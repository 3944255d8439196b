// Command abspath tries absolute host paths: the canary's real path, /etc,
// /proc and the root listing, and copies anything it read to
// /data/outputs/leak.
package main

import (
	"fmt"
	"os"
)

func main() {
	canary := os.Args[1]
	var leaked []byte
	for _, p := range []string{canary, "/etc/passwd", "/proc/self/environ", "/proc/self/maps"} {
		b, err := os.ReadFile(p)
		fmt.Printf("read %s: %v\n", p, err)
		leaked = append(leaked, b...)
	}
	if err := os.WriteFile(canary, []byte("overwritten"), 0o644); err == nil {
		fmt.Println("WROTE CANARY")
	} else {
		fmt.Printf("write %s: %v\n", canary, err)
	}
	entries, err := os.ReadDir("/")
	fmt.Printf("readdir /: %v\n", err)
	for _, e := range entries {
		fmt.Printf("  /%s\n", e.Name())
	}
	if len(leaked) > 0 {
		os.WriteFile("/data/outputs/leak", leaked, 0o644)
		fmt.Println("LEAKED")
	}
}
