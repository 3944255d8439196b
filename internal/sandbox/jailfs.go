package sandbox

import (
	"errors"
	"hash/fnv"
	"io"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"
)

// The guest's whole filesystem is one jailFS mounted at "/". It is a tree
// held in memory, built by the host before the run:
//
//	/                 structural, read-only
//	/data             structural, read-only
//	/data/inputs      read-only view of Config.Inputs (an fs.FS)
//	/data/ddos        read-only view of Config.DDOs (an fs.FS)
//	/data/outputs     writable, in memory, capped by Config.Outputs
//	/data/logs        writable, in memory, capped by Config.Logs; holds
//	                  "stdout" and "stderr"
//
// Nothing in the tree refers to the host filesystem by name: the read-only
// views pass a validated, slash-separated path (fs.ValidPath: no "..", no
// leading "/") to the fs.FS the host chose, and the writable parts are
// byte slices. Path resolution never follows links because none can exist:
// Symlink and Link fail with EPERM. So "..", absolute paths, symlinks, hard
// links and renames cannot reach anything outside the tree, whatever wazero
// or the guest's libc does with the path first.

// fixedTime is the modification time of every node (2022-01-01T00:00:00Z,
// in nanoseconds): the guest learns nothing about the host's clock or the
// inputs' history from stat, and outputs do not depend on when a job ran.
const fixedTime = 1640995200_000_000_000

// area is one writable part of the tree with its caps.
type area struct {
	name     string // "outputs" or "logs"
	maxBytes int64
	maxFiles int
	bytes    int64
	files    int
	exceeded string // the first overflow, in words; "" while within the caps
}

// node is a dir, a file or a mount.
type node interface{ inode() uint64 }

type dir struct {
	ino     uint64
	entries map[string]node
	area    *area // nil: structural, nothing in it may change
}

type file struct {
	ino   uint64
	data  []byte
	area  *area
	mtime int64
	// detached is set when the file is unlinked or replaced: its bytes no
	// longer count against the area, so it may not be written again
	// (otherwise writing through an open handle would escape the cap).
	detached bool
}

// detach drops f from its area's accounting.
func (f *file) detach() {
	f.area.bytes -= int64(len(f.data))
	f.area.files--
	f.data = nil
	f.detached = true
}

// mount is a read-only subtree backed by an fs.FS.
type mount struct {
	ino  uint64
	name string
	fsys fs.FS
}

func (d *dir) inode() uint64   { return d.ino }
func (f *file) inode() uint64  { return f.ino }
func (m *mount) inode() uint64 { return m.ino }

// loc is where a path leads: an in-memory node (n, possibly nil when only
// the parent exists) or a path inside a mount (m, sub).
type loc struct {
	parent *dir
	name   string
	n      node
	m      *mount
	sub    string
	path   string // the cleaned path, for rename checks and messages
}

// jailFS implements experimentalsys.FS over the tree. All methods hold mu:
// wazero calls them from the guest's goroutine, the host reads the tree
// after the run, and the stdout/stderr writers share the logs area.
type jailFS struct {
	experimentalsys.UnimplementedFS

	mu      sync.Mutex
	root    *dir
	outputs *dir
	logs    *dir
	stdout  *file
	stderr  *file
	nextIno uint64

	bytesRead    int64
	bytesWritten int64
	// onExceed is called once, the first time a cap is exceeded, without
	// mu held.
	onExceed func(what string)
	exceeded bool
}

var _ experimentalsys.FS = (*jailFS)(nil)

func newJailFS(inputs, ddos fs.FS, outCap, logCap Cap) *jailFS {
	j := &jailFS{nextIno: 1}
	j.root = j.newDir(nil)
	data := j.newDir(nil)
	j.root.entries["data"] = data
	data.entries["inputs"] = j.newMount("inputs", inputs)
	data.entries["ddos"] = j.newMount("ddos", ddos)
	j.outputs = j.newDir(&area{name: "outputs", maxBytes: outCap.MaxBytes, maxFiles: outCap.MaxFiles})
	j.logs = j.newDir(&area{name: "logs", maxBytes: logCap.MaxBytes, maxFiles: logCap.MaxFiles})
	data.entries["outputs"] = j.outputs
	data.entries["logs"] = j.logs
	// stdout and stderr are always there and do not count as files.
	j.stdout = j.newFile(j.logs.area)
	j.stderr = j.newFile(j.logs.area)
	j.logs.entries["stdout"] = j.stdout
	j.logs.entries["stderr"] = j.stderr
	return j
}

func (j *jailFS) newDir(a *area) *dir {
	j.nextIno++
	return &dir{ino: j.nextIno, entries: map[string]node{}, area: a}
}

func (j *jailFS) newFile(a *area) *file {
	j.nextIno++
	return &file{ino: j.nextIno, area: a, mtime: fixedTime}
}

func (j *jailFS) newMount(name string, fsys fs.FS) *mount {
	j.nextIno++
	if fsys == nil {
		fsys = emptyFS{}
	}
	return &mount{ino: j.nextIno, name: name, fsys: fsys}
}

// emptyFS is an fs.FS with an empty root directory.
type emptyFS struct{}

func (emptyFS) Open(name string) (fs.File, error) {
	if name != "." {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
	}
	return emptyDir{}, nil
}

type emptyDir struct{}

func (emptyDir) Stat() (fs.FileInfo, error) { return emptyDirInfo{}, nil }
func (emptyDir) Read([]byte) (int, error)   { return 0, errors.New("is a directory") }
func (emptyDir) Close() error               { return nil }
func (emptyDir) ReadDir(n int) ([]fs.DirEntry, error) {
	if n > 0 {
		return nil, io.EOF
	}
	return nil, nil
}

type emptyDirInfo struct{}

func (emptyDirInfo) Name() string       { return "." }
func (emptyDirInfo) Size() int64        { return 0 }
func (emptyDirInfo) Mode() fs.FileMode  { return fs.ModeDir | 0o555 }
func (emptyDirInfo) ModTime() time.Time { return time.Unix(0, fixedTime) }
func (emptyDirInfo) IsDir() bool        { return true }
func (emptyDirInfo) Sys() any           { return nil }

// resolve walks the tree. It accepts paths relative to the root or
// absolute, skips "" and "." components and refuses ".." outright: the
// tree has no parent links to follow.
func (j *jailFS) resolve(p string) (loc, experimentalsys.Errno) {
	if strings.IndexByte(p, 0) >= 0 {
		return loc{}, experimentalsys.EINVAL
	}
	var parts []string
	for _, s := range strings.Split(p, "/") {
		switch s {
		case "", ".":
		case "..":
			return loc{}, experimentalsys.EPERM
		default:
			parts = append(parts, s)
		}
	}
	clean := strings.Join(parts, "/")
	if len(parts) == 0 {
		return loc{n: j.root, path: clean}, 0
	}
	cur := j.root
	for i, name := range parts {
		child := cur.entries[name]
		if i == len(parts)-1 {
			if m, ok := child.(*mount); ok {
				return loc{m: m, sub: ".", path: clean}, 0
			}
			return loc{parent: cur, name: name, n: child, path: clean}, 0
		}
		switch c := child.(type) {
		case nil:
			return loc{}, experimentalsys.ENOENT
		case *file:
			return loc{}, experimentalsys.ENOTDIR
		case *mount:
			sub := strings.Join(parts[i+1:], "/")
			if !fs.ValidPath(sub) {
				return loc{}, experimentalsys.EINVAL
			}
			return loc{m: c, sub: sub, path: clean}, 0
		case *dir:
			cur = c
		}
	}
	panic("unreachable")
}

// errnoOf maps an error from a mount's fs.FS to an errno without passing
// any host detail on to the guest.
func errnoOf(err error) experimentalsys.Errno {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return experimentalsys.ENOENT
	case errors.Is(err, fs.ErrPermission):
		return experimentalsys.EACCES
	case errors.Is(err, fs.ErrInvalid):
		return experimentalsys.EINVAL
	default:
		return experimentalsys.EIO
	}
}

func (m *mount) subIno(sub string) uint64 {
	if sub == "." {
		return m.ino
	}
	h := fnv.New64a()
	h.Write([]byte(m.name))
	h.Write([]byte{0})
	h.Write([]byte(sub))
	return h.Sum64() | 1<<63 // never collides with the small in-memory inodes
}

func (m *mount) stat(sub string) (sys.Stat_t, experimentalsys.Errno) {
	info, err := fs.Stat(m.fsys, sub)
	if err != nil {
		return sys.Stat_t{}, errnoOf(err)
	}
	return mountStat(m.subIno(sub), info), 0
}

func mountStat(ino uint64, info fs.FileInfo) sys.Stat_t {
	mode := info.Mode()&fs.ModeType | 0o444
	if info.IsDir() {
		mode = fs.ModeDir | 0o555
	}
	size := info.Size()
	if info.IsDir() {
		size = 0
	}
	return sys.Stat_t{Dev: 1, Ino: ino, Mode: mode, Nlink: 1, Size: size, Atim: fixedTime, Mtim: fixedTime, Ctim: fixedTime}
}

func nodeStat(n node) sys.Stat_t {
	switch n := n.(type) {
	case *dir:
		mode := fs.ModeDir | 0o555
		if n.area != nil {
			mode = fs.ModeDir | 0o755
		}
		return sys.Stat_t{Dev: 1, Ino: n.ino, Mode: mode, Nlink: 1, Atim: fixedTime, Mtim: fixedTime, Ctim: fixedTime}
	case *file:
		return sys.Stat_t{Dev: 1, Ino: n.ino, Mode: 0o644, Nlink: 1, Size: int64(len(n.data)), Atim: n.mtime, Mtim: n.mtime, Ctim: n.mtime}
	}
	panic("unreachable")
}

// Stat implements experimentalsys.FS.
func (j *jailFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) {
	j.mu.Lock()
	defer j.mu.Unlock()
	l, errno := j.resolve(p)
	if errno != 0 {
		return sys.Stat_t{}, errno
	}
	if l.m != nil {
		return l.m.stat(l.sub)
	}
	if l.n == nil {
		return sys.Stat_t{}, experimentalsys.ENOENT
	}
	return nodeStat(l.n), 0
}

// Lstat implements experimentalsys.FS; there are no links, so it is Stat.
func (j *jailFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) { return j.Stat(p) }

// Readlink implements experimentalsys.FS: nothing is a link.
func (j *jailFS) Readlink(p string) (string, experimentalsys.Errno) {
	if _, errno := j.Stat(p); errno != 0 {
		return "", errno
	}
	return "", experimentalsys.EINVAL
}

// Symlink implements experimentalsys.FS: links are never created.
func (j *jailFS) Symlink(_, _ string) experimentalsys.Errno { return experimentalsys.EPERM }

// Link implements experimentalsys.FS: links are never created.
func (j *jailFS) Link(_, _ string) experimentalsys.Errno { return experimentalsys.EPERM }

// writable reports whether the entries of l's parent may change, with the
// errno to return when they may not.
func writableParent(l loc) experimentalsys.Errno {
	switch {
	case l.m != nil:
		return experimentalsys.EROFS
	case l.parent == nil || l.parent.area == nil:
		return experimentalsys.EPERM
	}
	return 0
}

// exceed records the first overflow of a cap. Called with mu held; it
// returns the callback to run once mu is released (nil if none).
func (j *jailFS) exceed(a *area, what string) func() {
	if a.exceeded == "" {
		a.exceeded = what
	}
	if j.exceeded || j.onExceed == nil {
		j.exceeded = true
		return nil
	}
	j.exceeded = true
	f := j.onExceed
	return func() { f(what) }
}

// addFile counts one more file or directory in a, or reports the overflow.
func (j *jailFS) addFile(a *area, path string) (func(), bool) {
	if a.files+1 > a.maxFiles {
		return j.exceed(a, "/"+path+": more than "+strconv.Itoa(a.maxFiles)+" files in /data/"+a.name), false
	}
	a.files++
	return nil, true
}

// OpenFile implements experimentalsys.FS.
func (j *jailFS) OpenFile(p string, flag experimentalsys.Oflag, _ fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	j.mu.Lock()
	f, errno, after := j.openFile(p, flag)
	j.mu.Unlock()
	if after != nil {
		after()
	}
	return f, errno
}

const accessMask = experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY

func (j *jailFS) openFile(p string, flag experimentalsys.Oflag) (experimentalsys.File, experimentalsys.Errno, func()) {
	l, errno := j.resolve(p)
	if errno != 0 {
		return nil, errno, nil
	}
	access := flag & accessMask
	wantsWrite := access != experimentalsys.O_RDONLY || flag&(experimentalsys.O_CREAT|experimentalsys.O_TRUNC|experimentalsys.O_APPEND) != 0
	if l.m != nil {
		if wantsWrite {
			return nil, experimentalsys.EROFS, nil
		}
		return j.openMount(l.m, l.sub, flag)
	}
	if l.n == nil {
		if flag&experimentalsys.O_CREAT == 0 {
			return nil, experimentalsys.ENOENT, nil
		}
		if errno := writableParent(l); errno != 0 {
			return nil, errno, nil
		}
		a := l.parent.area
		if after, ok := j.addFile(a, l.path); !ok {
			return nil, experimentalsys.EIO, after
		}
		f := j.newFile(a)
		l.parent.entries[l.name] = f
		l.n = f
	} else if flag&experimentalsys.O_CREAT != 0 && flag&experimentalsys.O_EXCL != 0 {
		return nil, experimentalsys.EEXIST, nil
	}
	switch n := l.n.(type) {
	case *dir:
		if wantsWrite {
			if n.area == nil {
				return nil, experimentalsys.EPERM, nil
			}
			return nil, experimentalsys.EISDIR, nil
		}
		return newDirHandle(nodeStat(n), func() []fs.DirEntry { return memDirents(n) }), 0, nil
	case *file:
		if flag&experimentalsys.O_DIRECTORY != 0 {
			return nil, experimentalsys.ENOTDIR, nil
		}
		pos := &memPos{j: j, f: n}
		h := &memHandle{File: adapt(func() fs.File { return pos }), j: j, f: n, pos: pos, path: l.path,
			read:   access != experimentalsys.O_WRONLY,
			write:  access != experimentalsys.O_RDONLY,
			append: flag&experimentalsys.O_APPEND != 0,
		}
		if flag&experimentalsys.O_TRUNC != 0 && h.write {
			n.area.bytes -= int64(len(n.data))
			n.data = nil
		}
		return h, 0, nil
	}
	panic("unreachable")
}

func (j *jailFS) openMount(m *mount, sub string, flag experimentalsys.Oflag) (experimentalsys.File, experimentalsys.Errno, func()) {
	f, err := m.fsys.Open(sub)
	if err != nil {
		return nil, errnoOf(err), nil
	}
	info, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, errnoOf(err), nil
	}
	st := mountStat(m.subIno(sub), info)
	if info.IsDir() {
		f.Close()
		return newDirHandle(st, func() []fs.DirEntry { return mountDirents(m, sub) }), 0, nil
	}
	if flag&experimentalsys.O_DIRECTORY != 0 {
		f.Close()
		return nil, experimentalsys.ENOTDIR, nil
	}
	if !info.Mode().IsRegular() {
		f.Close()
		return nil, experimentalsys.EACCES, nil
	}
	return &roHandle{File: adapt(func() fs.File { return f }), j: j, f: f, st: st}, 0, nil
}

func memDirents(d *dir) []fs.DirEntry {
	names := make([]string, 0, len(d.entries))
	for name := range d.entries {
		names = append(names, name)
	}
	sort.Strings(names)
	out := make([]fs.DirEntry, 0, len(names))
	for _, name := range names {
		info := fileInfo{name: name, dir: true}
		if f, ok := d.entries[name].(*file); ok {
			info = fileInfo{name: name, size: int64(len(f.data))}
		}
		out = append(out, fs.FileInfoToDirEntry(info))
	}
	return out
}

// mountDirents lists a directory of a mount. Entries are re-described
// (name, file or directory, size) so that nothing else of the host's
// FileInfo, such as inode numbers, reaches the guest.
func mountDirents(m *mount, sub string) []fs.DirEntry {
	entries, err := fs.ReadDir(m.fsys, sub)
	if err != nil {
		return nil
	}
	out := make([]fs.DirEntry, 0, len(entries))
	for _, e := range entries {
		info := fileInfo{name: e.Name(), dir: e.IsDir()}
		if !e.IsDir() {
			if fi, err := e.Info(); err == nil {
				info.size = fi.Size()
			}
		}
		out = append(out, fs.FileInfoToDirEntry(info))
	}
	return out
}

// Mkdir implements experimentalsys.FS.
func (j *jailFS) Mkdir(p string, _ fs.FileMode) experimentalsys.Errno {
	j.mu.Lock()
	errno, after := j.mkdir(p)
	j.mu.Unlock()
	if after != nil {
		after()
	}
	return errno
}

func (j *jailFS) mkdir(p string) (experimentalsys.Errno, func()) {
	l, errno := j.resolve(p)
	if errno != 0 {
		return errno, nil
	}
	if l.m != nil {
		return experimentalsys.EROFS, nil
	}
	if l.n != nil {
		return experimentalsys.EEXIST, nil
	}
	if errno := writableParent(l); errno != 0 {
		return errno, nil
	}
	a := l.parent.area
	if after, ok := j.addFile(a, l.path); !ok {
		return experimentalsys.EIO, after
	}
	l.parent.entries[l.name] = j.newDir(a)
	return 0, nil
}

// inArea resolves p to an existing in-memory node in a writable area.
func (j *jailFS) inArea(p string) (loc, experimentalsys.Errno) {
	l, errno := j.resolve(p)
	switch {
	case errno != 0:
		return l, errno
	case l.m != nil:
		return l, experimentalsys.EROFS
	case l.n == nil:
		return l, experimentalsys.ENOENT
	}
	return l, writableParent(l)
}

// Chmod implements experimentalsys.FS: modes in the writable areas are
// fixed, so it checks the path and does nothing.
func (j *jailFS) Chmod(p string, _ fs.FileMode) experimentalsys.Errno {
	j.mu.Lock()
	defer j.mu.Unlock()
	_, errno := j.inArea(p)
	return errno
}

// Utimens implements experimentalsys.FS for files in the writable areas.
func (j *jailFS) Utimens(p string, _, mtim int64) experimentalsys.Errno {
	j.mu.Lock()
	defer j.mu.Unlock()
	l, errno := j.inArea(p)
	if errno != 0 {
		return errno
	}
	if f, ok := l.n.(*file); ok && mtim != experimentalsys.UTIME_OMIT {
		f.mtime = mtim
	}
	return 0
}

// Unlink implements experimentalsys.FS.
func (j *jailFS) Unlink(p string) experimentalsys.Errno {
	j.mu.Lock()
	defer j.mu.Unlock()
	l, errno := j.inArea(p)
	if errno != 0 {
		return errno
	}
	f, ok := l.n.(*file)
	if !ok {
		return experimentalsys.EISDIR
	}
	if f == j.stdout || f == j.stderr {
		return experimentalsys.EPERM
	}
	f.detach()
	delete(l.parent.entries, l.name)
	return 0
}

// Rmdir implements experimentalsys.FS.
func (j *jailFS) Rmdir(p string) experimentalsys.Errno {
	j.mu.Lock()
	defer j.mu.Unlock()
	l, errno := j.inArea(p)
	if errno != 0 {
		return errno
	}
	d, ok := l.n.(*dir)
	if !ok {
		return experimentalsys.ENOTDIR
	}
	if len(d.entries) > 0 {
		return experimentalsys.ENOTEMPTY
	}
	d.area.files--
	delete(l.parent.entries, l.name)
	return 0
}

// Rename implements experimentalsys.FS, within one writable area only.
func (j *jailFS) Rename(from, to string) experimentalsys.Errno {
	j.mu.Lock()
	defer j.mu.Unlock()
	src, errno := j.inArea(from)
	if errno != 0 {
		return errno
	}
	dst, errno := j.resolve(to)
	if errno != 0 {
		return errno
	}
	if errno := writableParent(dst); errno != 0 {
		return errno
	}
	if dst.parent.area != src.parent.area {
		return experimentalsys.EPERM // no moves between outputs and logs
	}
	if src.n == j.stdout || src.n == j.stderr || dst.n == j.stdout || dst.n == j.stderr {
		return experimentalsys.EPERM
	}
	if dst.path == src.path {
		return 0
	}
	if strings.HasPrefix(dst.path, src.path+"/") {
		return experimentalsys.EINVAL // a directory into itself
	}
	_, srcIsDir := src.n.(*dir)
	switch d := dst.n.(type) {
	case *dir:
		if !srcIsDir {
			return experimentalsys.EISDIR
		}
		if len(d.entries) > 0 {
			return experimentalsys.ENOTEMPTY
		}
		d.area.files--
	case *file:
		if srcIsDir {
			return experimentalsys.ENOTDIR
		}
		d.detach()
	}
	delete(src.parent.entries, src.name)
	dst.parent.entries[dst.name] = src.n
	return 0
}

// write puts b at off in f (growing it), within f's area's byte cap. It
// returns the callback to run after mu is released when the cap was hit.
func (j *jailFS) write(f *file, path string, b []byte, off int64) (int, experimentalsys.Errno, func()) {
	if off < 0 {
		return 0, experimentalsys.EINVAL, nil
	}
	if f.detached {
		return 0, experimentalsys.EBADF, nil
	}
	end := off + int64(len(b))
	if grow := end - int64(len(f.data)); grow > 0 && f.area.bytes+grow > f.area.maxBytes {
		return 0, experimentalsys.EIO, j.exceed(f.area, "/"+path+": more than "+strconv.FormatInt(f.area.maxBytes, 10)+" bytes in /data/"+f.area.name)
	}
	if end > int64(len(f.data)) {
		f.area.bytes += end - int64(len(f.data))
		f.data = growTo(f.data, end)
	}
	copy(f.data[off:], b)
	j.bytesWritten += int64(len(b))
	return len(b), 0, nil
}

func growTo(b []byte, n int64) []byte {
	if n <= int64(cap(b)) {
		old := len(b)
		b = b[:n]
		clear(b[old:])
		return b
	}
	nb := make([]byte, n, max(n, 2*int64(cap(b))))
	copy(nb, b)
	return nb
}

// appendLog appends to stdout or stderr; it is the io.Writer behind the
// guest's standard streams.
func (j *jailFS) appendLog(f *file, name string, b []byte) (int, error) {
	j.mu.Lock()
	n, errno, after := j.write(f, name, b, int64(len(f.data)))
	j.mu.Unlock()
	if after != nil {
		after()
	}
	if errno != 0 {
		return n, errno
	}
	return n, nil
}

type logWriter struct {
	j    *jailFS
	f    *file
	name string
}

func (w logWriter) Write(b []byte) (int, error) { return w.j.appendLog(w.f, w.name, b) }

// snapshot copies the files under d, by slash-separated path.
func snapshot(d *dir, prefix string, out map[string][]byte) {
	for name, n := range d.entries {
		switch n := n.(type) {
		case *file:
			out[prefix+name] = slices.Clone(n.data)
		case *dir:
			snapshot(n, prefix+name+"/", out)
		}
	}
}

// memHandle is an open in-memory file. Its position is held by pos,
// which also serves Seek through wazero's fs.File adapter (see adapt).
type memHandle struct {
	experimentalsys.File
	j                   *jailFS
	f                   *file
	pos                 *memPos
	path                string
	read, write, append bool
}

func (h *memHandle) Dev() (uint64, experimentalsys.Errno) { return 1, 0 }
func (h *memHandle) Ino() (sys.Inode, experimentalsys.Errno) {
	return h.f.ino, 0
}
func (h *memHandle) IsDir() (bool, experimentalsys.Errno) { return false, 0 }
func (h *memHandle) IsAppend() bool                       { return h.append }
func (h *memHandle) SetAppend(enable bool) experimentalsys.Errno {
	h.append = enable
	return 0
}

func (h *memHandle) Stat() (sys.Stat_t, experimentalsys.Errno) {
	h.j.mu.Lock()
	defer h.j.mu.Unlock()
	return nodeStat(h.f), 0
}

func (h *memHandle) Read(b []byte) (int, experimentalsys.Errno) {
	n, errno := h.Pread(b, h.pos.off)
	h.pos.off += int64(n)
	return n, errno
}

func (h *memHandle) Pread(b []byte, off int64) (int, experimentalsys.Errno) {
	if !h.read {
		return 0, experimentalsys.EBADF
	}
	if off < 0 {
		return 0, experimentalsys.EINVAL
	}
	h.j.mu.Lock()
	defer h.j.mu.Unlock()
	if off >= int64(len(h.f.data)) {
		return 0, 0
	}
	n := copy(b, h.f.data[off:])
	h.j.bytesRead += int64(n)
	return n, 0
}

func (h *memHandle) Write(b []byte) (int, experimentalsys.Errno) {
	if !h.write {
		return 0, experimentalsys.EBADF
	}
	h.j.mu.Lock()
	if h.append {
		h.pos.off = int64(len(h.f.data))
	}
	n, errno, after := h.j.write(h.f, h.path, b, h.pos.off)
	h.pos.off += int64(n)
	h.j.mu.Unlock()
	if after != nil {
		after()
	}
	return n, errno
}

func (h *memHandle) Pwrite(b []byte, off int64) (int, experimentalsys.Errno) {
	if !h.write {
		return 0, experimentalsys.EBADF
	}
	h.j.mu.Lock()
	n, errno, after := h.j.write(h.f, h.path, b, off)
	h.j.mu.Unlock()
	if after != nil {
		after()
	}
	return n, errno
}

func (h *memHandle) Truncate(size int64) experimentalsys.Errno {
	if !h.write {
		return experimentalsys.EBADF
	}
	if size < 0 {
		return experimentalsys.EINVAL
	}
	h.j.mu.Lock()
	var after func()
	errno := experimentalsys.Errno(0)
	f := h.f
	if f.detached {
		h.j.mu.Unlock()
		return experimentalsys.EBADF
	}
	if grow := size - int64(len(f.data)); grow > 0 {
		if f.area.bytes+grow > f.area.maxBytes {
			errno = experimentalsys.EIO
			after = h.j.exceed(f.area, "/"+h.path+": more than "+strconv.FormatInt(f.area.maxBytes, 10)+" bytes in /data/"+f.area.name)
		} else {
			f.area.bytes += grow
			f.data = growTo(f.data, size)
		}
	} else {
		f.area.bytes += grow
		f.data = f.data[:size]
	}
	h.j.mu.Unlock()
	if after != nil {
		after()
	}
	return errno
}

func (h *memHandle) Utimens(_, mtim int64) experimentalsys.Errno {
	h.j.mu.Lock()
	defer h.j.mu.Unlock()
	if mtim != experimentalsys.UTIME_OMIT {
		h.f.mtime = mtim
	}
	return 0
}

// roHandle is an open file of a read-only mount. Seek comes from wazero's
// adapter over f (see adapt).
type roHandle struct {
	experimentalsys.File
	j  *jailFS
	f  fs.File
	st sys.Stat_t
}

func (h *roHandle) Dev() (uint64, experimentalsys.Errno)    { return 1, 0 }
func (h *roHandle) Ino() (sys.Inode, experimentalsys.Errno) { return h.st.Ino, 0 }
func (h *roHandle) IsDir() (bool, experimentalsys.Errno)    { return false, 0 }
func (h *roHandle) Stat() (sys.Stat_t, experimentalsys.Errno) {
	return h.st, 0
}

func (h *roHandle) count(n int) {
	h.j.mu.Lock()
	h.j.bytesRead += int64(n)
	h.j.mu.Unlock()
}

func (h *roHandle) Read(b []byte) (int, experimentalsys.Errno) {
	if len(b) == 0 {
		return 0, 0
	}
	n, err := h.f.Read(b)
	h.count(n)
	if err != nil && err != io.EOF {
		return n, errnoOf(err)
	}
	return n, 0
}

func (h *roHandle) Pread(b []byte, off int64) (int, experimentalsys.Errno) {
	ra, ok := h.f.(io.ReaderAt)
	if !ok {
		return 0, experimentalsys.ENOSYS
	}
	if off < 0 {
		return 0, experimentalsys.EINVAL
	}
	n, err := ra.ReadAt(b, off)
	h.count(n)
	if err != nil && err != io.EOF {
		return n, errnoOf(err)
	}
	return n, 0
}

func (h *roHandle) Write([]byte) (int, experimentalsys.Errno) { return 0, experimentalsys.EBADF }
func (h *roHandle) Pwrite([]byte, int64) (int, experimentalsys.Errno) {
	return 0, experimentalsys.EBADF
}
func (h *roHandle) Truncate(int64) experimentalsys.Errno { return experimentalsys.EBADF }
func (h *roHandle) Utimens(int64, int64) experimentalsys.Errno {
	return experimentalsys.EROFS
}
func (h *roHandle) Close() experimentalsys.Errno {
	if err := h.f.Close(); err != nil {
		return errnoOf(err)
	}
	return 0
}

// adapt wraps an fs.File in wazero's fs.File adapter. The sandbox's file
// types embed the result for one method only, Seek: the adapter turns
// io.Seeker's signature into sys.File's, which lets this package avoid
// declaring a Seek method with a non-standard signature (go vet's
// stdmethods check). Every other method is the sandbox's own.
func adapt(open func() fs.File) experimentalsys.File {
	f, errno := (&sysfs.AdaptFS{FS: openFunc(open)}).OpenFile(".", experimentalsys.O_RDONLY, 0)
	if errno != 0 {
		// openFunc never fails, so the adapter cannot either.
		panic("sandbox: wazero fs.File adapter failed: " + errno.Error())
	}
	return f
}

// openFunc is an fs.FS whose every Open calls the function: a directory
// rewind (Seek to 0) reopens it and so lists it afresh.
type openFunc func() fs.File

func (o openFunc) Open(string) (fs.File, error) { return o(), nil }

// memPos is the position of a memHandle, as an fs.File for adapt.
type memPos struct {
	j   *jailFS
	f   *file
	off int64
}

func (p *memPos) Stat() (fs.FileInfo, error) {
	p.j.mu.Lock()
	defer p.j.mu.Unlock()
	return fileInfo{name: "file", size: int64(len(p.f.data))}, nil
}
func (p *memPos) Read([]byte) (int, error) { return 0, errors.New("memPos is not read") }
func (p *memPos) Close() error             { return nil }

// Seek implements io.Seeker; positions past the end are allowed, as in
// POSIX, and a write there leaves a zero-filled gap.
func (p *memPos) Seek(offset int64, whence int) (int64, error) {
	p.j.mu.Lock()
	size := int64(len(p.f.data))
	p.j.mu.Unlock()
	var abs int64
	switch whence {
	case io.SeekStart:
		abs = offset
	case io.SeekCurrent:
		abs = p.off + offset
	case io.SeekEnd:
		abs = size + offset
	default:
		return 0, fs.ErrInvalid
	}
	if abs < 0 {
		return 0, fs.ErrInvalid
	}
	p.off = abs
	return abs, nil
}

// dirHandle is an open directory. Listing and rewinding go through
// wazero's adapter over a listing taken when the directory is opened or
// rewound; the rest is the sandbox's.
type dirHandle struct {
	experimentalsys.File
	st sys.Stat_t
}

func newDirHandle(st sys.Stat_t, list func() []fs.DirEntry) *dirHandle {
	return &dirHandle{File: adapt(func() fs.File { return &listing{entries: list()} }), st: st}
}

func (h *dirHandle) Dev() (uint64, experimentalsys.Errno)      { return 1, 0 }
func (h *dirHandle) Ino() (sys.Inode, experimentalsys.Errno)   { return h.st.Ino, 0 }
func (h *dirHandle) Stat() (sys.Stat_t, experimentalsys.Errno) { return h.st, 0 }
func (h *dirHandle) IsDir() (bool, experimentalsys.Errno)      { return true, 0 }
func (h *dirHandle) IsAppend() bool                            { return false }
func (h *dirHandle) SetAppend(bool) experimentalsys.Errno      { return experimentalsys.EISDIR }
func (h *dirHandle) Read([]byte) (int, experimentalsys.Errno)  { return 0, experimentalsys.EISDIR }
func (h *dirHandle) Pread([]byte, int64) (int, experimentalsys.Errno) {
	return 0, experimentalsys.EISDIR
}
func (h *dirHandle) Write([]byte) (int, experimentalsys.Errno) { return 0, experimentalsys.EISDIR }
func (h *dirHandle) Pwrite([]byte, int64) (int, experimentalsys.Errno) {
	return 0, experimentalsys.EISDIR
}
func (h *dirHandle) Truncate(int64) experimentalsys.Errno       { return experimentalsys.EISDIR }
func (h *dirHandle) Sync() experimentalsys.Errno                { return 0 }
func (h *dirHandle) Datasync() experimentalsys.Errno            { return 0 }
func (h *dirHandle) Utimens(int64, int64) experimentalsys.Errno { return experimentalsys.EPERM }

// listing is one directory listing as an fs.ReadDirFile.
type listing struct {
	entries []fs.DirEntry
}

func (l *listing) Stat() (fs.FileInfo, error) { return fileInfo{name: ".", dir: true}, nil }
func (l *listing) Read([]byte) (int, error)   { return 0, fs.ErrInvalid }
func (l *listing) Close() error               { return nil }

func (l *listing) ReadDir(n int) ([]fs.DirEntry, error) {
	if n <= 0 {
		out := l.entries
		l.entries = nil
		return out, nil
	}
	if len(l.entries) == 0 {
		return nil, io.EOF
	}
	n = min(n, len(l.entries))
	out := l.entries[:n]
	l.entries = l.entries[n:]
	return out, nil
}
