// Command httpd serves a folder over HTTP on a free loopback port for the
// demo, with ETag and Last-Modified as net/http's file server sends them.
// It writes its address to the file named by -addr-file and serves until
// killed.
package main

import (
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
)

func main() {
	dir := flag.String("dir", ".", "folder to serve")
	addrFile := flag.String("addr-file", "", "write host:port here once listening")
	flag.Parse()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if *addrFile != "" {
		if err := os.WriteFile(*addrFile, []byte(ln.Addr().String()), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := http.Serve(ln, http.FileServer(http.Dir(*dir))); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
