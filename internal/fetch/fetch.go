package fetch

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
)

// Source state kinds, as kamu records them in AddData.newSourceState.
const (
	// StateKindETag holds an HTTP entity tag. For a FilesGlob source it
	// holds the name of the last file ingested (kamu stores it the same way,
	// so chains stay readable by kamu and kamu's chains by IPOS).
	StateKindETag = "odf/etag"
	// StateKindLastModified holds an RFC 3339 time: an HTTP Last-Modified
	// header or a file:// URL's modification time.
	StateKindLastModified = "odf/last-modified"
)

// DefaultSourceName names the polling source in source states when
// Options.SourceName is empty (kamu's SourceState::DEFAULT_SOURCE_NAME).
const DefaultSourceName = "default"

// DefaultMaxBytes caps one download or one decompressed file when
// Options.MaxBytes is zero.
const DefaultMaxBytes int64 = 64 << 30

// Errors a caller may test for with errors.Is.
var (
	// ErrUnsupported marks a fetch kind or URL scheme IPOS does not run.
	ErrUnsupported = errors.New("not supported by IPOS")
	// ErrNotFound marks a missing source: no file matches a glob, a
	// file:// URL names nothing, an HTTP server answers 404 or 410.
	ErrNotFound = errors.New("source not found")
	// ErrTooLarge marks a download or decompressed file over Options.MaxBytes.
	ErrTooLarge = errors.New("too large")
	// ErrPipeDisabled marks a Pipe prepare step refused by configuration.
	ErrPipeDisabled = errors.New("Pipe prepare steps run commands on this machine; enable with ingest.allowPipe: true in .ipos/config.yaml")
)

// Options configure Fetch and Prepare.
type Options struct {
	// BaseDir resolves relative FilesGlob paths and file:// URLs (the
	// workspace root). Empty means the current directory.
	BaseDir string
	// WorkDir is the scratch folder for downloads and prepared files. The
	// caller creates it and removes it afterwards.
	WorkDir string
	// HTTP sends requests; nil means a client with connect, TLS and
	// response-header timeouts but no overall timeout (downloads may be large).
	HTTP *http.Client
	// AllowPipe lets Pipe prepare steps run (workspace config ingest.allowPipe).
	AllowPipe bool
	// Progress, when set, is called as bytes arrive with the number of bytes
	// downloaded (HTTP, S3) or written (PostgreSQL NDJSON) so far by this
	// Fetch call; local files are not copied.
	Progress func(bytes int64)
	// SourceName goes into SourceState.SourceName; empty means DefaultSourceName.
	SourceName string
	// MaxBytes caps one download and one decompressed or piped file;
	// zero means DefaultMaxBytes.
	MaxBytes int64
	// Depots resolves the depot a depot://NAME/path URL or glob names; nil
	// means such URLs are an error.
	Depots func(ctx context.Context, name string) (*Depot, error)
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

func (o Options) sourceName() string {
	if o.SourceName != "" {
		return o.SourceName
	}
	return DefaultSourceName
}

func (o Options) client() *http.Client {
	if o.HTTP != nil {
		return o.HTTP
	}
	return defaultClient()
}

func (o Options) state(kind, value string) *odf.SourceState {
	return &odf.SourceState{SourceName: o.sourceName(), Kind: kind, Value: value}
}

func defaultClient() *http.Client {
	dialer := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	return &http.Client{Transport: &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           dialer.DialContext,
		ForceAttemptHTTP2:     true,
		TLSHandshakeTimeout:   15 * time.Second,
		ResponseHeaderTimeout: 2 * time.Minute,
		ExpectContinueTimeout: time.Second,
		IdleConnTimeout:       90 * time.Second,
		MaxIdleConns:          10,
	}}
}

// Item is one unit of new source data. A FilesGlob fetch yields one item
// per new file, each ingested and committed on its own, advancing the
// watermark; a URL fetch yields at most one.
type Item struct {
	// Path is a local file with the fetched bytes, before prepare. For
	// local sources it is the source file itself: never modify it.
	Path string
	// Name is the file name (relative to the glob's fixed directory) or
	// the URL, for messages.
	Name string
	// EventTime comes from the source metadata (HTTP Last-Modified, file
	// modification time) or the path, per the step's EventTimeSource; nil
	// means the caller uses the system time.
	EventTime *time.Time
	// State is the source state to record once this item is committed;
	// nil when the source offers nothing to resume from (then every pull
	// fetches again).
	State *odf.SourceState
}

// Fetch returns the items not yet ingested given the previous source
// state (nil on first pull), oldest first. An empty slice means the
// source is up to date.
func Fetch(ctx context.Context, step odf.FetchStep, prev *odf.SourceState, opts Options) ([]Item, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	switch s := step.(type) {
	case *odf.FetchStepURL:
		if s != nil {
			step = *s
		}
	case *odf.FetchStepFilesGlob:
		if s != nil {
			step = *s
		}
	}
	step, ref, err := resolveDepot(ctx, step, opts)
	if err != nil {
		return nil, err
	}
	if ref != nil {
		return fetchRemote(ctx, step, ref, prev, opts)
	}
	switch s := step.(type) {
	case odf.FetchStepURL:
		return fetchURL(ctx, s, prev, opts)
	case odf.FetchStepFilesGlob:
		return fetchGlob(ctx, s, prev, opts)
	case odf.FetchStepContainer, *odf.FetchStepContainer:
		return nil, fmt.Errorf("Container fetch is %w: it needs a container runtime; fetch the data another way and use a Url or FilesGlob source", ErrUnsupported)
	case odf.FetchStepMqtt, *odf.FetchStepMqtt:
		return nil, fmt.Errorf("Mqtt fetch is %w: it needs a long-running MQTT broker subscription; write the messages to files and use a FilesGlob source", ErrUnsupported)
	case odf.FetchStepEthereumLogs, *odf.FetchStepEthereumLogs:
		return nil, fmt.Errorf("EthereumLogs fetch is %w: it needs an Ethereum node client; export the logs to files and use a FilesGlob source", ErrUnsupported)
	case nil:
		return nil, errors.New("polling source has no fetch step")
	default:
		return nil, fmt.Errorf("%T fetch is %w", step, ErrUnsupported)
	}
}

// cached reports whether a SourceCachingForever source was already ingested.
func cached(c odf.SourceCaching, prev *odf.SourceState) bool {
	return isForever(c) && prev != nil
}

func isForever(c odf.SourceCaching) bool {
	switch c.(type) {
	case odf.SourceCachingForever, *odf.SourceCachingForever:
		return true
	}
	return false
}

// ctxReader fails reads once ctx is done, so long copies stop promptly.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// copyCapped copies src to dst, failing with ErrTooLarge past max bytes
// and reporting the running total to progress (which may be nil).
func copyCapped(ctx context.Context, dst io.Writer, src io.Reader, limit int64, progress func(int64), what string) (int64, error) {
	var r io.Reader = ctxReader{ctx, io.LimitReader(src, limit+1)}
	if progress != nil {
		r = &progressReader{r: r, fn: progress}
	}
	n, err := io.Copy(dst, r)
	if err != nil {
		if ctx.Err() != nil {
			return n, ctx.Err()
		}
		return n, err
	}
	if n > limit {
		return n, fmt.Errorf("%s is larger than %d bytes: %w (raise the limit or check the source)", what, limit, ErrTooLarge)
	}
	return n, nil
}

type progressReader struct {
	r     io.Reader
	total int64
	fn    func(int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	if n > 0 {
		p.total += int64(n)
		p.fn(p.total)
	}
	return n, err
}
