package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

func fetchURL(ctx context.Context, s odf.FetchStepURL, prev *odf.SourceState, opts Options) ([]Item, error) {
	if cached(s.Cache, prev) {
		return nil, nil
	}
	u, err := url.Parse(s.URL)
	if err != nil {
		return nil, fmt.Errorf("Url fetch: bad url: %w", err)
	}
	et, err := urlEventTime(s.EventTime)
	if err != nil {
		return nil, err
	}
	switch strings.ToLower(u.Scheme) {
	case "file":
		return fetchFileURL(u, s.URL, et, prev, opts)
	case "http", "https":
		items, err := fetchHTTP(ctx, u, s.Headers, et, prev, opts)
		if isForever(s.Cache) && len(items) == 1 && items[0].State == nil {
			// Forever needs some state to know the source was ingested; the
			// server gave neither ETag nor Last-Modified, so record the
			// fetch time.
			items[0].State = opts.state(StateKindLastModified, time.Now().UTC().Format(time.RFC3339Nano))
		}
		return items, err
	case "":
		return nil, fmt.Errorf("Url fetch: %q has no scheme; use file://, http:// or https://", s.URL)
	default:
		return nil, fmt.Errorf("Url fetch of %s: scheme %q is %w (use file://, http:// or https://)", u.Redacted(), u.Scheme, ErrUnsupported)
	}
}

// eventTimer picks a URL's event time: from its metadata (the default, as
// in kamu), from its path, or none (system time).
type eventTimer struct {
	meta bool
	path *pathTime
}

func urlEventTime(src odf.EventTimeSource) (eventTimer, error) {
	switch et := src.(type) {
	case nil, odf.EventTimeSourceFromMetadata, *odf.EventTimeSourceFromMetadata:
		return eventTimer{meta: true}, nil
	case odf.EventTimeSourceFromPath:
		pt, err := newPathTime(et)
		return eventTimer{path: pt}, err
	case *odf.EventTimeSourceFromPath:
		pt, err := newPathTime(*et)
		return eventTimer{path: pt}, err
	}
	return eventTimer{}, nil
}

func (e eventTimer) eventTime(p string, meta *time.Time) (*time.Time, error) {
	switch {
	case e.path != nil:
		t, err := e.path.extract(p)
		if err != nil {
			return nil, err
		}
		return &t, nil
	case e.meta && meta != nil:
		t := meta.UTC()
		return &t, nil
	}
	return nil, nil
}

// filePath resolves a file:// URL. file:///abs is absolute; file://rel/x,
// file:rel/x and file:./rel/x are relative to baseDir.
func filePath(u *url.URL, baseDir string) (string, error) {
	var p string
	switch {
	case u.Opaque != "":
		var err error
		if p, err = url.PathUnescape(u.Opaque); err != nil {
			return "", err
		}
	case u.Host != "" && u.Host != "localhost":
		p = u.Host + u.Path
	default:
		p = u.Path
	}
	if p == "" {
		return "", errors.New("empty path")
	}
	p = filepath.FromSlash(p)
	if !filepath.IsAbs(p) {
		p = filepath.Join(baseDir, p)
	}
	return p, nil
}

func fetchFileURL(u *url.URL, raw string, et eventTimer, prev *odf.SourceState, opts Options) ([]Item, error) {
	p, err := filePath(u, opts.BaseDir)
	if err != nil {
		return nil, fmt.Errorf("Url fetch: bad file url %q: %w", raw, err)
	}
	info, err := os.Stat(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("Url fetch: %s: file %s does not exist: %w", raw, p, ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("Url fetch: %s: %w", raw, err)
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("Url fetch: %s: %s is not a regular file", raw, p)
	}
	// kamu keeps modification times to the millisecond.
	mtime := info.ModTime().UTC().Round(time.Millisecond)
	if prev != nil && prev.Kind == StateKindLastModified {
		if t, err := time.Parse(time.RFC3339Nano, prev.Value); err == nil && t.Equal(mtime) {
			return nil, nil
		}
	}
	ev, err := et.eventTime(filepath.ToSlash(p), &mtime)
	if err != nil {
		return nil, err
	}
	return []Item{{
		Path:      p,
		Name:      raw,
		EventTime: ev,
		State:     opts.state(StateKindLastModified, mtime.Format(time.RFC3339Nano)),
	}}, nil
}

func fetchHTTP(ctx context.Context, u *url.URL, headers []odf.RequestHeader, et eventTimer, prev *odf.SourceState, opts Options) ([]Item, error) {
	name := u.Redacted()
	if opts.WorkDir == "" {
		return nil, fmt.Errorf("Url fetch of %s: no work directory to download into", name)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, fmt.Errorf("Url fetch of %s: %w", name, err)
	}
	for _, h := range headers {
		req.Header.Add(h.Name, h.Value)
	}
	if prev != nil {
		switch prev.Kind {
		case StateKindETag:
			if prev.Value != "" {
				req.Header.Set("If-None-Match", prev.Value)
			}
		case StateKindLastModified:
			if t, err := parseTime(prev.Value); err == nil {
				req.Header.Set("If-Modified-Since", t.UTC().Format(http.TimeFormat))
			}
		}
	}
	resp, err := opts.client().Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("Url fetch of %s: %w", name, err)
	}
	defer resp.Body.Close()

	if resp.StatusCode == http.StatusNotModified {
		return nil, nil
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		snippet, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		msg := strings.TrimSpace(string(snippet))
		err := fmt.Errorf("Url fetch of %s: server answered %s", name, resp.Status)
		if msg != "" {
			err = fmt.Errorf("%w: %s", err, msg)
		}
		if resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusGone {
			err = fmt.Errorf("%w (%w)", err, ErrNotFound)
		}
		return nil, err
	}

	etag := resp.Header.Get("ETag")
	var lm *time.Time
	if t, err := http.ParseTime(resp.Header.Get("Last-Modified")); err == nil {
		t = t.UTC()
		lm = &t
	}
	// A server that ignores conditional requests still tells us nothing changed.
	if unchanged(prev, etag, lm) {
		return nil, nil
	}
	ev, err := et.eventTime(u.Path, lm)
	if err != nil {
		return nil, err
	}
	p, err := download(ctx, resp.Body, resp.ContentLength, name, safeExt(u.Path), opts, opts.Progress)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("Url fetch of %s: %w", name, err)
	}
	return []Item{{Path: p, Name: name, EventTime: ev, State: metaState(opts, etag, lm)}}, nil
}

// unchanged reports whether a source's entity tag, or without one its
// modification time, is the one recorded in prev: then there is nothing
// new to fetch. HTTP and S3 sources share this rule.
func unchanged(prev *odf.SourceState, etag string, lm *time.Time) bool {
	if prev == nil {
		return false
	}
	switch prev.Kind {
	case StateKindETag:
		return etag != "" && etag == prev.Value
	case StateKindLastModified:
		if etag != "" || lm == nil {
			return false
		}
		t, err := parseTime(prev.Value)
		return err == nil && t.Equal(*lm)
	}
	return false
}

// metaState is the state recorded for a fetched source: its entity tag,
// else its modification time, else none.
func metaState(opts Options, etag string, lm *time.Time) *odf.SourceState {
	switch {
	case etag != "":
		return opts.state(StateKindETag, etag)
	case lm != nil:
		return opts.state(StateKindLastModified, lm.UTC().Format(time.RFC3339Nano))
	}
	return nil
}

// download streams body (of size bytes, or -1 if unknown) into a new file
// in opts.WorkDir, capped at opts.MaxBytes and reporting the running total
// to progress (which may be nil). On any failure the partial file is
// removed; a cancelled ctx is returned as ctx.Err().
func download(ctx context.Context, body io.Reader, size int64, what, ext string, opts Options, progress func(int64)) (string, error) {
	if opts.WorkDir == "" {
		return "", errors.New("no work directory to download into")
	}
	limit := opts.maxBytes()
	if size > limit {
		return "", fmt.Errorf("%s has %d bytes, over the %d-byte limit: %w", what, size, limit, ErrTooLarge)
	}
	f, err := os.CreateTemp(opts.WorkDir, "download-*"+ext)
	if err != nil {
		return "", err
	}
	_, err = copyCapped(ctx, f, body, limit, progress, what)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(f.Name())
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		return "", err
	}
	return f.Name(), nil
}

// parseTime reads a last-modified state value: RFC 3339 as IPOS and kamu
// write it, or an HTTP date.
func parseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	return http.ParseTime(s)
}

// safeExt keeps a short, plain extension (".csv", ".gz") so prepared file
// names stay recognisable; anything odd is dropped.
func safeExt(p string) string {
	ext := path.Ext(p)
	if len(ext) > 10 {
		return ""
	}
	for _, r := range ext[min(1, len(ext)):] {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return ""
		}
	}
	return ext
}
