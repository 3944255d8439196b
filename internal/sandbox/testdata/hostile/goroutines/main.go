// Command goroutines starts goroutines without end, each holding memory
// and spinning.
package main

import "runtime"

func main() {
	for {
		go func() {
			buf := make([]byte, 64<<10)
			for {
				buf[0]++
				runtime.Gosched()
			}
		}()
	}
}
