// Command writeinputs tries every way of changing /data/inputs and
// /data/ddos, and of writing outside the writable areas.
package main

import (
	"fmt"
	"os"
)

func main() {
	try := func(what string, err error) { fmt.Printf("%s: %v\n", what, err) }
	f, err := os.OpenFile("/data/inputs/ds/rows.csv", os.O_WRONLY|os.O_APPEND, 0)
	try("open for append", err)
	if err == nil {
		_, err = f.WriteString("evil,row\n")
		try("append", err)
	}
	try("truncate", os.Truncate("/data/inputs/ds/rows.csv", 0))
	try("create", os.WriteFile("/data/inputs/ds/new.csv", []byte("x"), 0o644))
	try("remove", os.Remove("/data/inputs/ds/rows.csv"))
	try("chmod", os.Chmod("/data/inputs/ds/rows.csv", 0o777))
	try("mkdir", os.Mkdir("/data/inputs/dir", 0o755))
	try("ddos create", os.WriteFile("/data/ddos/evil.json", []byte("{}"), 0o644))
	try("create in /data", os.WriteFile("/data/evil", []byte("x"), 0o644))
	try("create in /", os.WriteFile("/evil", []byte("x"), 0o644))
	try("mkdir /tmp", os.Mkdir("/tmp", 0o755))
	try("remove outputs", os.Remove("/data/outputs"))
	try("rename inputs", os.Rename("/data/inputs", "/data/outputs/in"))
}
