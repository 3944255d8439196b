// Command symlink tries to make links that point outside the jail (a
// symlink to the canary's host path, a relative symlink up and out, a hard
// link to an input) and to move files out with rename, then reads through
// whatever it made.
package main

import (
	"fmt"
	"os"
)

func main() {
	canary := os.Args[1]
	var leaked []byte
	try := func(what string, err error) { fmt.Printf("%s: %v\n", what, err) }
	try("symlink abs", os.Symlink(canary, "/data/outputs/abs"))
	try("symlink rel", os.Symlink("../../../../../../../../"+canary, "/data/outputs/rel"))
	try("symlink dir", os.Symlink("/", "/data/outputs/root"))
	try("link input", os.Link("/data/inputs/ds/rows.csv", "/data/outputs/hard"))
	try("rename input", os.Rename("/data/inputs/ds/rows.csv", "/data/outputs/moved"))
	os.WriteFile("/data/outputs/x", []byte("x"), 0o644)
	try("rename out of jail", os.Rename("/data/outputs/x", "/data/inputs/x"))
	try("rename to logs", os.Rename("/data/outputs/x", "/data/logs/x"))
	for _, p := range []string{"/data/outputs/abs", "/data/outputs/rel", "/data/outputs/root/etc/passwd", "/data/outputs/hard"} {
		b, err := os.ReadFile(p)
		fmt.Printf("read %s: %v\n", p, err)
		leaked = append(leaked, b...)
	}
	if l, err := os.Readlink("/data/outputs/abs"); err == nil {
		fmt.Println("readlink:", l)
	}
	if len(leaked) > 0 {
		os.WriteFile("/data/outputs/leak", leaked, 0o644)
		fmt.Println("LEAKED")
	}
}
