// Command membomb allocates until something stops it.
package main

import "fmt"

func main() {
	var keep [][]byte
	for i := 0; ; i++ {
		b := make([]byte, 8<<20)
		for j := range b {
			b[j] = byte(i)
		}
		keep = append(keep, b)
		fmt.Println("allocated", (i+1)*8, "MiB")
	}
}
