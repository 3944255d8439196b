package fetch

import (
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

// Prepare applies prepare steps to a fetched file and returns the path of
// the result: the same path when there are no steps, else a new file in
// opts.WorkDir. The input file is never modified; intermediate files this
// call created are removed.
func Prepare(ctx context.Context, steps []odf.PrepStep, p string, opts Options) (string, error) {
	if len(steps) == 0 {
		return p, nil
	}
	if !opts.AllowPipe {
		for i, st := range steps {
			switch st.(type) {
			case odf.PrepStepPipe, *odf.PrepStepPipe:
				return "", fmt.Errorf("prepare step %d (Pipe): %w", i+1, ErrPipeDisabled)
			}
		}
	}
	if opts.WorkDir == "" {
		return "", errors.New("prepare: no work directory to write prepared files into")
	}
	cur, created := p, false
	for i, st := range steps {
		if err := ctx.Err(); err != nil {
			if created {
				os.Remove(cur)
			}
			return "", err
		}
		var (
			next, kind string
			err        error
		)
		switch s := st.(type) {
		case odf.PrepStepDecompress:
			kind = "Decompress"
			next, err = decompress(ctx, s, cur, opts)
		case *odf.PrepStepDecompress:
			kind = "Decompress"
			next, err = decompress(ctx, *s, cur, opts)
		case odf.PrepStepPipe:
			kind = "Pipe"
			next, err = pipe(ctx, s.Command, cur, opts)
		case *odf.PrepStepPipe:
			kind = "Pipe"
			next, err = pipe(ctx, s.Command, cur, opts)
		default:
			kind = fmt.Sprintf("%T", st)
			err = ErrUnsupported
		}
		if created {
			os.Remove(cur)
		}
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("prepare step %d (%s): %w", i+1, kind, err)
		}
		cur, created = next, true
	}
	return cur, nil
}

func decompress(ctx context.Context, s odf.PrepStepDecompress, p string, opts Options) (string, error) {
	switch s.Format {
	case odf.CompressionGzip:
		return gunzip(ctx, p, opts)
	case odf.CompressionZip:
		sub := ""
		if s.SubPath != nil {
			sub = *s.SubPath
		}
		return unzip(ctx, p, sub, opts)
	}
	return "", fmt.Errorf("compression format %d is %w (use Gzip or Zip)", s.Format, ErrUnsupported)
}

func gunzip(ctx context.Context, p string, opts Options) (string, error) {
	in, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer in.Close()
	zr, err := gzip.NewReader(in)
	if err != nil {
		return "", fmt.Errorf("%s is not gzip: %w", filepath.Base(p), err)
	}
	defer zr.Close()
	ext := safeExt(strings.TrimSuffix(strings.TrimSuffix(filepath.Base(p), ".gz"), ".gzip"))
	return writeTemp(ctx, opts, "gunzip-*"+ext, func(w *os.File) error {
		_, err := copyCapped(ctx, w, zr, opts.maxBytes(), nil, "decompressed "+filepath.Base(p))
		return err
	})
}

func unzip(ctx context.Context, p, sub string, opts Options) (string, error) {
	zr, err := zip.OpenReader(p)
	if err != nil && !(errors.Is(err, zip.ErrInsecurePath) && zr != nil) {
		return "", fmt.Errorf("%s is not a zip archive: %w", filepath.Base(p), err)
	}
	defer zr.Close()
	var names []string
	var files []*zip.File
	for _, f := range zr.File {
		if !safeEntry(f.Name) {
			return "", fmt.Errorf("zip entry %q points outside the archive (zip-slip); refusing %s", f.Name, filepath.Base(p))
		}
		if f.FileInfo().IsDir() {
			continue
		}
		names = append(names, f.Name)
		files = append(files, f)
	}
	var pick []*zip.File
	if sub == "" {
		pick = files
	} else {
		if _, err := path.Match(sub, ""); err != nil {
			return "", fmt.Errorf("subPath %q: %w", sub, err)
		}
		for _, f := range files {
			if ok, _ := path.Match(sub, f.Name); ok {
				pick = append(pick, f)
			}
		}
		if len(pick) == 0 { // let "data.csv" find "dir/data.csv"
			for _, f := range files {
				if ok, _ := path.Match(sub, path.Base(f.Name)); ok {
					pick = append(pick, f)
				}
			}
		}
	}
	if len(pick) != 1 {
		what := "the archive"
		if sub != "" {
			what = fmt.Sprintf("subPath %q", sub)
		}
		var pickNames []string
		for _, f := range pick {
			pickNames = append(pickNames, f.Name)
		}
		switch {
		case len(files) == 0:
			return "", fmt.Errorf("zip archive %s has no files", filepath.Base(p))
		case len(pick) == 0:
			return "", fmt.Errorf("%s matches no file in %s; entries: %s", what, filepath.Base(p), listNames(names))
		default:
			return "", fmt.Errorf("%s matches %d files in %s, need exactly one (set subPath to choose): %s", what, len(pick), filepath.Base(p), listNames(pickNames))
		}
	}
	f := pick[0]
	limit := opts.maxBytes()
	if f.UncompressedSize64 > uint64(limit) {
		return "", fmt.Errorf("zip entry %q declares %d bytes, over the %d-byte limit: %w", f.Name, f.UncompressedSize64, limit, ErrTooLarge)
	}
	rc, err := f.Open()
	if err != nil {
		return "", fmt.Errorf("zip entry %q: %w", f.Name, err)
	}
	defer rc.Close()
	return writeTemp(ctx, opts, "unzip-*"+safeExt(f.Name), func(w *os.File) error {
		_, err := copyCapped(ctx, w, rc, limit, nil, "zip entry "+f.Name)
		return err
	})
}

// safeEntry rejects zip entry names that could escape a directory if
// someone extracted them: absolute, drive-lettered, backslashed or with "..".
// IPOS never writes entries under their own names, but such an archive is
// malformed or hostile either way.
func safeEntry(name string) bool {
	if name == "" || strings.ContainsAny(name, "\\\x00") || path.IsAbs(name) || filepath.IsAbs(name) || filepath.VolumeName(name) != "" {
		return false
	}
	if len(name) >= 2 && name[1] == ':' {
		return false
	}
	for _, el := range strings.Split(name, "/") {
		if el == ".." {
			return false
		}
	}
	return true
}

func listNames(names []string) string {
	const show = 20
	if len(names) > show {
		return strings.Join(names[:show], ", ") + fmt.Sprintf(", … (%d more)", len(names)-show)
	}
	return strings.Join(names, ", ")
}

// writeTemp creates a file in the work directory, fills it with write and
// returns its path, removing it on failure.
func writeTemp(ctx context.Context, opts Options, pattern string, write func(*os.File) error) (string, error) {
	f, err := os.CreateTemp(opts.WorkDir, pattern)
	if err != nil {
		return "", err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		os.Remove(f.Name())
		return "", err
	}
	return f.Name(), nil
}

// pipe runs command with the file on stdin and its stdout captured to a
// new file. The command runs in opts.BaseDir (the workspace root) so
// workspace scripts can be named relatively.
func pipe(ctx context.Context, command []string, p string, opts Options) (string, error) {
	if len(command) == 0 || command[0] == "" {
		return "", errors.New("Pipe step has an empty command")
	}
	in, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer in.Close()
	return writeTemp(ctx, opts, "pipe-*", func(out *os.File) error {
		cmd := exec.CommandContext(ctx, command[0], command[1:]...)
		cmd.Dir = opts.BaseDir
		cmd.Stdin = in
		lw := &limitWriter{w: out, left: opts.maxBytes()}
		cmd.Stdout = lw
		stderr := &tailBuffer{max: 8 << 10}
		cmd.Stderr = stderr
		cmd.WaitDelay = 5 * time.Second
		err := cmd.Run()
		if lw.over {
			return fmt.Errorf("output of %q is over the %d-byte limit: %w", strings.Join(command, " "), opts.maxBytes(), ErrTooLarge)
		}
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			msg := strings.TrimSpace(stderr.String())
			if msg != "" {
				return fmt.Errorf("command %q: %w: %s", strings.Join(command, " "), err, msg)
			}
			return fmt.Errorf("command %q: %w", strings.Join(command, " "), err)
		}
		return nil
	})
}

type limitWriter struct {
	w    *os.File
	left int64
	over bool
}

func (l *limitWriter) Write(b []byte) (int, error) {
	if int64(len(b)) > l.left {
		l.over = true
		return 0, ErrTooLarge
	}
	l.left -= int64(len(b))
	return l.w.Write(b)
}

// tailBuffer keeps the last max bytes written (the end of stderr is where
// the error usually is).
type tailBuffer struct {
	buf bytes.Buffer
	max int
}

func (t *tailBuffer) Write(b []byte) (int, error) {
	n := len(b)
	t.buf.Write(b)
	if over := t.buf.Len() - t.max; over > 0 {
		t.buf.Next(over)
	}
	return n, nil
}

func (t *tailBuffer) String() string { return t.buf.String() }
