package sandbox

import (
	"bytes"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"sort"
	"time"
)

// Files is an fs.FS made of chosen host files or byte slices: each key is
// a slash-separated path inside the mount (for example
// "covid.daily/part-0.parquet"). Directories are implied by the keys. The
// guest can name only the keys; host paths are never shown to it. Build
// one with HostFiles or MemFiles.
//
// To show a whole host directory instead, pass the fs.FS of an os.Root
// (os.OpenRoot(dir) then root.FS()): os.Root refuses "..", absolute paths
// and symlinks that leave the directory.
type Files struct {
	files map[string]source   // guest path → where its bytes are
	dirs  map[string][]string // guest dir ("." for the root) → sorted child names
}

// source is a host file (host != "") or bytes in memory.
type source struct {
	host string
	data []byte
}

var _ fs.ReadDirFS = (*Files)(nil)

// HostFiles checks every key (a valid fs path, not clashing with a
// directory another key implies) and that every host file is a regular
// file, and returns the FS. The files are opened when the guest opens
// them, not before.
func HostFiles(files map[string]string) (*Files, error) {
	src := make(map[string]source, len(files))
	for k, host := range files {
		info, err := os.Stat(host)
		if err != nil {
			return nil, fmt.Errorf("sandbox input %q: %w", k, err)
		}
		if !info.Mode().IsRegular() {
			return nil, fmt.Errorf("sandbox input %q: host file %s is not a regular file", k, host)
		}
		src[k] = source{host: host}
	}
	return newFiles(src)
}

// MemFiles is HostFiles for byte slices, for metadata documents and tests.
func MemFiles(files map[string][]byte) (*Files, error) {
	src := make(map[string]source, len(files))
	for k, data := range files {
		src[k] = source{data: data}
	}
	return newFiles(src)
}

func newFiles(files map[string]source) (*Files, error) {
	h := &Files{files: files, dirs: map[string][]string{".": nil}}
	keys := make([]string, 0, len(files))
	for k := range files {
		if !fs.ValidPath(k) || k == "." {
			return nil, fmt.Errorf("sandbox file %q: not a valid relative path (slash-separated, no \"..\", no leading \"/\")", k)
		}
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		child := k
		for {
			parent := path.Dir(child)
			if _, clash := h.files[parent]; clash {
				return nil, fmt.Errorf("sandbox input %q: %q is both a file and a directory", k, parent)
			}
			_, seen := h.dirs[parent]
			h.dirs[parent] = append(h.dirs[parent], path.Base(child))
			if seen || parent == "." {
				break
			}
			child = parent
		}
	}
	for d, names := range h.dirs {
		sort.Strings(names)
		h.dirs[d] = compactStrings(names)
	}
	return h, nil
}

func compactStrings(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// Open implements fs.FS.
func (h *Files) Open(name string) (fs.File, error) {
	if !fs.ValidPath(name) {
		return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
	}
	if src, ok := h.files[name]; ok {
		if src.host == "" {
			return &memFile{Reader: bytes.NewReader(src.data), name: path.Base(name), size: int64(len(src.data))}, nil
		}
		f, err := os.Open(src.host)
		if err != nil {
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
		}
		info, err := f.Stat()
		if err != nil || !info.Mode().IsRegular() {
			f.Close()
			return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrInvalid}
		}
		return hostFile{File: f, name: path.Base(name)}, nil
	}
	if _, ok := h.dirs[name]; ok {
		return &hostDir{h: h, name: name}, nil
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// ReadDir implements fs.ReadDirFS.
func (h *Files) ReadDir(name string) ([]fs.DirEntry, error) {
	d, err := h.Open(name)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	rd, ok := d.(fs.ReadDirFile)
	if !ok {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrInvalid}
	}
	return rd.ReadDir(-1)
}

// hostFile hides the host name: Stat reports the guest's base name.
type hostFile struct {
	*os.File
	name string
}

func (f hostFile) Stat() (fs.FileInfo, error) {
	info, err := f.File.Stat()
	if err != nil {
		return nil, err
	}
	return fileInfo{name: f.name, size: info.Size()}, nil
}

type hostDir struct {
	h    *Files
	name string
	pos  int
}

func (d *hostDir) Stat() (fs.FileInfo, error) {
	return fileInfo{name: path.Base(d.name), dir: true}, nil
}
func (d *hostDir) Read([]byte) (int, error) {
	return 0, &fs.PathError{Op: "read", Path: d.name, Err: fs.ErrInvalid}
}
func (d *hostDir) Close() error { return nil }

func (d *hostDir) ReadDir(n int) ([]fs.DirEntry, error) {
	names := d.h.dirs[d.name][d.pos:]
	if n > 0 && len(names) == 0 {
		return nil, io.EOF
	}
	if n > 0 && n < len(names) {
		names = names[:n]
	}
	d.pos += len(names)
	out := make([]fs.DirEntry, 0, len(names))
	for _, name := range names {
		full := name
		if d.name != "." {
			full = d.name + "/" + name
		}
		if src, ok := d.h.files[full]; ok {
			size := int64(len(src.data))
			if src.host != "" {
				info, err := os.Stat(src.host)
				if err != nil {
					return out, err
				}
				size = info.Size()
			}
			out = append(out, fs.FileInfoToDirEntry(fileInfo{name: name, size: size}))
		} else {
			out = append(out, fs.FileInfoToDirEntry(fileInfo{name: name, dir: true}))
		}
	}
	return out, nil
}

type fileInfo struct {
	name string
	size int64
	dir  bool
}

func (i fileInfo) Name() string { return i.name }
func (i fileInfo) Size() int64  { return i.size }
func (i fileInfo) Mode() fs.FileMode {
	if i.dir {
		return fs.ModeDir | 0o555
	}
	return 0o444
}
func (i fileInfo) ModTime() time.Time { return time.Unix(0, fixedTime) }
func (i fileInfo) IsDir() bool        { return i.dir }
func (i fileInfo) Sys() any           { return nil }

// memFile is an open in-memory file.
type memFile struct {
	*bytes.Reader
	name string
	size int64
}

func (f *memFile) Stat() (fs.FileInfo, error) { return fileInfo{name: f.name, size: f.size}, nil }
func (f *memFile) Close() error               { return nil }
