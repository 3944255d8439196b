// Command clock prints the wall clock and how long a sleep took.
package main

import (
	"fmt"
	"time"
)

func main() {
	start := time.Now()
	time.Sleep(50 * time.Millisecond)
	fmt.Println("now", start.UTC().Format(time.RFC3339Nano))
	fmt.Println("year", start.UTC().Year())
}
