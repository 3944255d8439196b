// Command dotdot tries to leave /data/inputs with "../" paths, through the
// os package and through raw WASI path_open calls that skip Go's own path
// cleaning. It prints one line per attempt and copies anything it managed
// to read to /data/outputs/leak.
package main

import (
	"fmt"
	"os"
	"unsafe"
)

//go:wasmimport wasi_snapshot_preview1 path_open
//go:noescape
func pathOpen(fd int32, dirflags uint32, path unsafe.Pointer, pathLen uint32, oflags uint32, rightsBase uint64, rightsInheriting uint64, fdflags uint32, result unsafe.Pointer) uint32

//go:wasmimport wasi_snapshot_preview1 fd_read
//go:noescape
func fdRead(fd int32, iovs unsafe.Pointer, iovsLen uint32, nread unsafe.Pointer) uint32

func rawRead(preopen int32, path string) (string, uint32) {
	p := []byte(path)
	var fd int32
	if errno := pathOpen(preopen, 1, unsafe.Pointer(&p[0]), uint32(len(p)), 0, ^uint64(0), ^uint64(0), 0, unsafe.Pointer(&fd)); errno != 0 {
		return "", errno
	}
	buf := make([]byte, 4096)
	iov := [2]uint32{uint32(uintptr(unsafe.Pointer(&buf[0]))), uint32(len(buf))}
	var n uint32
	if errno := fdRead(fd, unsafe.Pointer(&iov), 1, unsafe.Pointer(&n)); errno != 0 {
		return "", errno
	}
	return string(buf[:n]), 0
}

func main() {
	canary := os.Args[1] // the host path of the canary, as a hint
	var leaked []byte
	for _, p := range []string{
		"/data/inputs/../../../../../../" + canary,
		"/data/inputs/../../../etc/passwd",
		"../../../../../../../" + canary,
		"/data/inputs/ds/../../../canary.txt",
		"/data/inputs/../canary.txt",
	} {
		b, err := os.ReadFile(p)
		fmt.Printf("os %s: %v\n", p, err)
		leaked = append(leaked, b...)
	}
	for fd := int32(3); fd < 6; fd++ {
		for _, p := range []string{"../canary.txt", "../../../../../../" + canary[1:], "data/inputs/../../../canary.txt", "data/../../canary.txt", "/" + canary[1:]} {
			s, errno := rawRead(fd, p)
			fmt.Printf("raw fd=%d %s: errno=%d\n", fd, p, errno)
			leaked = append(leaked, s...)
		}
	}
	if len(leaked) > 0 {
		os.WriteFile("/data/outputs/leak", leaked, 0o644)
		fmt.Println("LEAKED")
	}
}
