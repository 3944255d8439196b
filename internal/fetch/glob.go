package fetch

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

// globFile is one regular file matched by a FilesGlob pattern.
type globFile struct {
	name  string // slash-separated, relative to the pattern's fixed directory
	path  string // OS path, or the object key in an S3 depot
	mtime time.Time
	event *time.Time
}

func fetchGlob(ctx context.Context, s odf.FetchStepFilesGlob, prev *odf.SourceState, opts Options) ([]Item, error) {
	if cached(s.Cache, prev) {
		return nil, nil
	}
	if strings.TrimSpace(s.Path) == "" {
		return nil, errors.New("FilesGlob fetch has an empty path")
	}
	full := filepath.FromSlash(s.Path)
	if !filepath.IsAbs(full) {
		full = filepath.Join(opts.BaseDir, full)
	}
	root, segs, err := splitGlob(filepath.ToSlash(full))
	if err != nil {
		return nil, fmt.Errorf("FilesGlob path %q: %w", s.Path, err)
	}
	files, err := matchGlob(ctx, root, segs)
	if err != nil {
		return nil, fmt.Errorf("FilesGlob %q: %w", s.Path, err)
	}
	if files, err = newGlobFiles(s, files, prev); err != nil {
		return nil, err
	}
	items := make([]Item, 0, len(files))
	for _, f := range files {
		items = append(items, Item{
			Path:      f.path,
			Name:      f.name,
			EventTime: f.event,
			State:     opts.state(StateKindETag, f.name),
		})
	}
	return items, nil
}

// newGlobFiles gives the matched files their event times, orders them
// and keeps those after the last one ingested (prev). Local folders and
// S3 depots share it, so a glob means the same wherever its files live.
func newGlobFiles(s odf.FetchStepFilesGlob, files []globFile, prev *odf.SourceState) ([]globFile, error) {
	if len(files) == 0 {
		if prev != nil {
			return nil, nil
		}
		return nil, fmt.Errorf("no files match %s: %w", s.Path, ErrNotFound)
	}

	var pt *pathTime
	var err error
	fromMeta := false
	switch et := s.EventTime.(type) {
	case odf.EventTimeSourceFromPath:
		if pt, err = newPathTime(et); err != nil {
			return nil, err
		}
	case *odf.EventTimeSourceFromPath:
		if pt, err = newPathTime(*et); err != nil {
			return nil, err
		}
	case odf.EventTimeSourceFromMetadata, *odf.EventTimeSourceFromMetadata:
		fromMeta = true
	}
	for i := range files {
		f := &files[i]
		switch {
		case pt != nil:
			t, err := pt.extract(f.name)
			if err != nil {
				return nil, err
			}
			f.event = &t
		case fromMeta:
			t := f.mtime
			f.event = &t
		}
	}

	// kamu orders by name, the only order it implements; ByEventTime is an
	// IPOS extension and needs an event time per file.
	byTime := s.Order != nil && *s.Order == odf.SourceOrderingByEventTime
	if byTime && pt == nil && !fromMeta {
		return nil, errors.New("FilesGlob order ByEventTime needs eventTime fromPath or fromMetadata; use order ByName or set an eventTime source")
	}
	less := func(a, b globFile) int { return strings.Compare(a.name, b.name) }
	if byTime {
		less = func(a, b globFile) int {
			if c := a.event.Compare(*b.event); c != 0 {
				return c
			}
			return strings.Compare(a.name, b.name)
		}
	}
	slices.SortFunc(files, less)

	if prev != nil && prev.Kind == StateKindETag && prev.Value != "" {
		last := globFile{name: prev.Value}
		if byTime {
			switch {
			case pt != nil:
				t, err := pt.extract(last.name)
				if err != nil {
					return nil, fmt.Errorf("last ingested file: %w", err)
				}
				last.event = &t
			default:
				i := slices.IndexFunc(files, func(f globFile) bool { return f.name == last.name })
				if i < 0 {
					return nil, fmt.Errorf("FilesGlob %q: the last ingested file %q is gone, so its modification time cannot order new files; use order ByName or eventTime fromPath", s.Path, last.name)
				}
				last.event = files[i].event
			}
		}
		files = slices.DeleteFunc(files, func(f globFile) bool { return less(f, last) <= 0 })
	}
	return files, nil
}

func hasMeta(seg string) bool { return strings.ContainsAny(seg, `*?[\`) }

// splitGlob splits a slash-separated pattern into its fixed leading
// directory and the remaining segments (at least one).
func splitGlob(p string) (root string, segs []string, err error) {
	parts := strings.Split(p, "/")
	k := 0
	for k < len(parts)-1 && !hasMeta(parts[k]) {
		k++
	}
	root = strings.Join(parts[:k], "/")
	if root == "" && k > 0 {
		root = "/"
	}
	if root == "" {
		root = "."
	}
	segs = parts[k:]
	for _, s := range segs {
		if s == "**" {
			continue
		}
		if _, err := path.Match(s, ""); err != nil {
			return "", nil, fmt.Errorf("bad pattern segment %q: %w", s, err)
		}
	}
	return filepath.FromSlash(root), segs, nil
}

// matchGlob walks root and returns the regular files whose path relative
// to root matches segs. "**" matches any number of directories.
func matchGlob(ctx context.Context, root string, segs []string) ([]globFile, error) {
	deep := slices.Contains(segs, "**")
	var out []globFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if err != nil {
			if p == root && errors.Is(err, fs.ErrNotExist) {
				return fs.SkipAll
			}
			return err
		}
		if p == root {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		parts := strings.Split(rel, "/")
		if d.IsDir() {
			if !deep && (len(parts) >= len(segs) || !matchSegs(segs[:len(parts)], parts)) {
				return fs.SkipDir
			}
			return nil
		}
		if !matchSegs(segs, parts) {
			return nil
		}
		info, err := os.Stat(p) // follows symlinks
		if err != nil || !info.Mode().IsRegular() {
			return nil
		}
		out = append(out, globFile{name: rel, path: p, mtime: info.ModTime().UTC()})
		return nil
	})
	return out, err
}

func matchSegs(pat, parts []string) bool {
	if len(pat) == 0 {
		return len(parts) == 0
	}
	if pat[0] == "**" {
		for i := 0; i <= len(parts); i++ {
			if matchSegs(pat[1:], parts[i:]) {
				return true
			}
		}
		return false
	}
	if len(parts) == 0 {
		return false
	}
	ok, _ := path.Match(pat[0], parts[0])
	return ok && matchSegs(pat[1:], parts[1:])
}
