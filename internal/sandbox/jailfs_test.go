package sandbox

import (
	"io"
	"strings"
	"testing"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
)

// These call the jail directly, below wazero's own path cleaning, with the
// paths a hostile guest could send through raw WASI calls.
func TestJailFSRefusesEscapes(t *testing.T) {
	in, _ := MemFiles(map[string][]byte{"ds/rows.csv": []byte("a,b\n1,2\n")})
	j := newJailFS(in, nil, Cap{MaxBytes: 100, MaxFiles: 3}, Cap{MaxBytes: 10, MaxFiles: 1})
	for _, p := range []string{"..", "../etc/passwd", "data/../..", "data/inputs/../../x", "data/inputs/ds/../../../x"} {
		if _, errno := j.OpenFile(p, experimentalsys.O_RDONLY, 0); errno != experimentalsys.EPERM {
			t.Errorf("open %q: errno %v, want EPERM", p, errno)
		}
		if _, errno := j.Stat(p); errno != experimentalsys.EPERM {
			t.Errorf("stat %q: errno %v, want EPERM", p, errno)
		}
	}
	if _, errno := j.OpenFile("data/inputs/ds/rows.csv\x00", experimentalsys.O_RDONLY, 0); errno != experimentalsys.EINVAL {
		t.Errorf("NUL in path: %v", errno)
	}
	if errno := j.Symlink("/etc", "data/outputs/l"); errno != experimentalsys.EPERM {
		t.Errorf("symlink: %v", errno)
	}
	if errno := j.Link("data/inputs/ds/rows.csv", "data/outputs/l"); errno != experimentalsys.EPERM {
		t.Errorf("link: %v", errno)
	}
	if errno := j.Rename("data/outputs", "data/o2"); errno != experimentalsys.EPERM {
		t.Errorf("rename an area root: %v", errno)
	}
	if errno := j.Unlink("data/logs/stdout"); errno != experimentalsys.EPERM {
		t.Errorf("unlink stdout: %v", errno)
	}
}

func TestJailFSCaps(t *testing.T) {
	j := newJailFS(nil, nil, Cap{MaxBytes: 100, MaxFiles: 2}, Cap{MaxBytes: 10, MaxFiles: 1})
	var hit []string
	j.onExceed = func(what string) { hit = append(hit, what) }
	create := experimentalsys.O_RDWR | experimentalsys.O_CREAT
	f, errno := j.OpenFile("data/outputs/a", create, 0)
	if errno != 0 {
		t.Fatal(errno)
	}
	if _, errno := f.Write(make([]byte, 60)); errno != 0 {
		t.Fatal(errno)
	}
	// Unlinking frees the bytes, but the open handle may not write again:
	// otherwise it could grow without bound outside the accounting.
	if errno := j.Unlink("data/outputs/a"); errno != 0 {
		t.Fatal(errno)
	}
	if _, errno := f.Write(make([]byte, 1000)); errno != experimentalsys.EBADF {
		t.Errorf("write to an unlinked file: %v", errno)
	}
	g, _ := j.OpenFile("data/outputs/b", create, 0)
	// A sparse write past the cap counts the gap.
	if _, errno := g.Pwrite([]byte("x"), 100); errno != experimentalsys.EIO {
		t.Errorf("sparse write past the cap: %v", errno)
	}
	if len(hit) != 1 || !strings.Contains(hit[0], "more than 100 bytes in /data/outputs") {
		t.Errorf("cap callback: %q", hit)
	}
	if errno := g.Truncate(101); errno != experimentalsys.EIO {
		t.Errorf("truncate past the cap: %v", errno)
	}
	if errno := j.Mkdir("data/outputs/d", 0o755); errno != 0 {
		t.Fatal(errno)
	}
	if _, errno := j.OpenFile("data/outputs/c", create, 0); errno != experimentalsys.EIO {
		t.Errorf("third file with MaxFiles 2: %v", errno)
	}
	if len(hit) != 1 {
		t.Errorf("the callback ran %d times, want once", len(hit))
	}
	// Seek past the end then read: EOF; reading a dir: EISDIR.
	if _, errno := g.Seek(50, io.SeekStart); errno != 0 {
		t.Fatal(errno)
	}
	if n, errno := g.Read(make([]byte, 4)); n != 0 || errno != 0 {
		t.Errorf("read past the end: %d, %v", n, errno)
	}
	d, _ := j.OpenFile("data", experimentalsys.O_RDONLY, 0)
	if _, errno := d.Read(make([]byte, 1)); errno != experimentalsys.EISDIR {
		t.Errorf("read a dir: %v", errno)
	}
	names := func() string {
		ents, errno := d.Readdir(-1)
		if errno != 0 {
			t.Fatal(errno)
		}
		var s []string
		for _, e := range ents {
			s = append(s, e.Name)
		}
		return strings.Join(s, " ")
	}
	if got := names(); got != "ddos inputs logs outputs" {
		t.Errorf("readdir /data = %q", got)
	}
	if _, errno := d.Seek(0, io.SeekStart); errno != 0 {
		t.Fatal(errno)
	}
	if got := names(); got != "ddos inputs logs outputs" {
		t.Errorf("readdir after rewind = %q", got)
	}
}
