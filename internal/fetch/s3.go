package fetch

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/ipos-dev/ipos/internal/odf"
)

// S3Depot is a bucket of an S3-compatible object store. Depot paths are
// object keys under Prefix, which is a folder: "raw" and "raw/" both mean
// the keys "raw/…".
type S3Depot struct {
	// Endpoint is scheme://host[:port]; empty means Amazon S3.
	Endpoint string
	// Region is the bucket's region; empty lets the client ask the store.
	Region string
	Bucket string
	Prefix string
	// AccessKey and SecretKey sign requests. Both empty means the
	// environment's credentials (AWS_* and MINIO_* variables, the AWS
	// credentials file, and on Amazon S3 the instance role), else
	// anonymous requests.
	AccessKey string
	SecretKey string
}

// s3MaxRetries bounds the client's retries, so that an unreachable store
// fails in seconds rather than minutes.
const s3MaxRetries = 3

// fetchS3Object downloads the object depot://NAME/key names. Its ETag is
// the source state, as for HTTP: the request carries If-None-Match, and a
// 304 or the same ETag means up to date.
func fetchS3Object(ctx context.Context, ref *depotRef, s odf.FetchStepURL, prev *odf.SourceState, opts Options) ([]Item, error) {
	d := ref.d.S3
	if strings.Trim(ref.rest, "/") == "" {
		return nil, fmt.Errorf("depot %q: %s names no object; use depot://%s/path/to/object", ref.name, s.URL, ref.name)
	}
	key, err := s3Key(d.Prefix, ref.rest)
	if err != nil {
		return nil, fmt.Errorf("depot %q: %s: %w", ref.name, s.URL, err)
	}
	et, err := urlEventTime(s.EventTime)
	if err != nil {
		return nil, err
	}
	c, err := newS3Client(d, opts)
	if err != nil {
		return nil, fmt.Errorf("depot %q: %w", ref.name, err)
	}
	var get minio.GetObjectOptions
	if prev != nil && prev.Kind == StateKindETag && prev.Value != "" {
		if err := get.SetMatchETagExcept(prev.Value); err != nil {
			return nil, fmt.Errorf("depot %q: recorded ETag %q: %w", ref.name, prev.Value, err)
		}
	}
	body, info, _, err := c.GetObject(ctx, d.Bucket, key, get)
	if err != nil {
		if minio.ToErrorResponse(err).StatusCode == http.StatusNotModified {
			return nil, nil
		}
		return nil, s3Error(ctx, ref, key, err)
	}
	defer body.Close()

	var lm *time.Time
	if !info.LastModified.IsZero() {
		t := info.LastModified.UTC()
		lm = &t
	}
	if unchanged(prev, info.ETag, lm) {
		return nil, nil
	}
	ev, err := et.eventTime(key, lm)
	if err != nil {
		return nil, err
	}
	p, err := download(ctx, body, info.Size, "object "+key, safeExt(key), opts, opts.Progress)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, fmt.Errorf("depot %q: download of %s: %w", ref.name, key, scrub(err, d.AccessKey, d.SecretKey))
	}
	return []Item{{Path: p, Name: s.URL, EventTime: ev, State: metaState(opts, info.ETag, lm)}}, nil
}

// fetchS3Glob lists the objects under the glob's fixed prefix, keeps those
// matching it and not yet ingested (newGlobFiles, as for local folders)
// and downloads them, oldest first.
func fetchS3Glob(ctx context.Context, ref *depotRef, s odf.FetchStepFilesGlob, prev *odf.SourceState, opts Options) ([]Item, error) {
	d := ref.d.S3
	pattern, err := s3Key(d.Prefix, ref.rest)
	if err != nil {
		return nil, fmt.Errorf("depot %q: FilesGlob %s: %w", ref.name, s.Path, err)
	}
	root, segs, err := splitGlob(pattern)
	if err != nil {
		return nil, fmt.Errorf("depot %q: FilesGlob %s: %w", ref.name, s.Path, err)
	}
	prefix := filepath.ToSlash(root) + "/"
	if root == "." {
		prefix = ""
	}
	c, err := newS3Client(d, opts)
	if err != nil {
		return nil, fmt.Errorf("depot %q: %w", ref.name, err)
	}
	list := minio.ListObjectsOptions{
		Prefix:    prefix,
		Recursive: len(segs) > 1 || slices.Contains(segs, "**"),
	}
	// Stopping early must end the listing goroutine too.
	lctx, stop := context.WithCancel(ctx)
	defer stop()
	var files []globFile
	for obj := range c.Client.ListObjects(lctx, d.Bucket, list) {
		if obj.Err != nil {
			return nil, s3Error(ctx, ref, prefix, obj.Err)
		}
		rel := strings.TrimPrefix(obj.Key, prefix)
		if rel == "" || strings.HasSuffix(rel, "/") || !matchSegs(segs, strings.Split(rel, "/")) {
			continue
		}
		files = append(files, globFile{name: rel, path: obj.Key, mtime: obj.LastModified.UTC()})
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if files, err = newGlobFiles(s, files, prev); err != nil {
		return nil, fmt.Errorf("depot %q: %w", ref.name, err)
	}

	var done int64 // bytes of earlier objects, so Progress counts the whole call
	progress := func(n int64) {
		if opts.Progress != nil {
			opts.Progress(done + n)
		}
	}
	items := make([]Item, 0, len(files))
	for _, f := range files {
		body, info, _, err := c.GetObject(ctx, d.Bucket, f.path, minio.GetObjectOptions{})
		if err != nil {
			return nil, s3Error(ctx, ref, f.path, err)
		}
		p, err := download(ctx, body, info.Size, "object "+f.path, safeExt(f.path), opts, progress)
		body.Close()
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			return nil, fmt.Errorf("depot %q: download of %s: %w", ref.name, f.path, scrub(err, d.AccessKey, d.SecretKey))
		}
		done += info.Size
		items = append(items, Item{
			Path:      p,
			Name:      f.name,
			EventTime: f.event,
			State:     opts.state(StateKindETag, f.name),
		})
	}
	return items, nil
}

// s3Key joins a depot's prefix and a depot path into an object key,
// refusing "." and ".." segments that would step out of the prefix.
func s3Key(prefix, rest string) (string, error) {
	rest = strings.TrimLeft(rest, "/")
	for _, seg := range strings.Split(rest, "/") {
		if seg == "." || seg == ".." {
			return "", fmt.Errorf("object path %q has a %q segment; give the key under the depot's prefix", rest, seg)
		}
	}
	prefix = strings.TrimLeft(prefix, "/")
	if prefix != "" && !strings.HasSuffix(prefix, "/") {
		prefix += "/"
	}
	return prefix + rest, nil
}

func newS3Client(d *S3Depot, opts Options) (*minio.Core, error) {
	host, secure, lookup := "s3.amazonaws.com", true, minio.BucketLookupAuto
	if d.Endpoint != "" {
		u, err := url.Parse(d.Endpoint)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("endpoint %q is not scheme://host[:port]", d.Endpoint)
		}
		// Stores other than Amazon's are reached by path (host/bucket/key):
		// it needs no DNS name per bucket.
		host, secure, lookup = u.Host, u.Scheme == "https", minio.BucketLookupPath
	}
	var creds *credentials.Credentials
	switch {
	case d.AccessKey != "" || d.SecretKey != "":
		creds = credentials.NewStaticV4(d.AccessKey, d.SecretKey, "")
	default:
		chain := []credentials.Provider{&credentials.EnvAWS{}, &credentials.EnvMinio{}, &credentials.FileAWSCredentials{}}
		if d.Endpoint == "" {
			chain = append(chain, &credentials.IAM{})
		}
		creds = credentials.NewChainCredentials(chain)
	}
	mo := &minio.Options{
		Creds:        creds,
		Secure:       secure,
		Region:       d.Region,
		BucketLookup: lookup,
		MaxRetries:   s3MaxRetries,
	}
	if opts.HTTP != nil && opts.HTTP.Transport != nil {
		mo.Transport = opts.HTTP.Transport
	}
	c, err := minio.NewCore(host, mo)
	if err != nil {
		return nil, fmt.Errorf("S3 client for %s: %w", host, err)
	}
	return c, nil
}

// s3Error turns a store's answer into an error that names the depot and
// what was asked for, and never the credentials.
func s3Error(ctx context.Context, ref *depotRef, key string, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	d := ref.d.S3
	er := minio.ToErrorResponse(err)
	var out error
	switch {
	case er.Code == minio.NoSuchBucket:
		out = fmt.Errorf("depot %q: bucket %q does not exist on %s: %w", ref.name, d.Bucket, endpointName(d), ErrNotFound)
	case er.Code == minio.NoSuchKey || er.StatusCode == http.StatusNotFound:
		out = fmt.Errorf("depot %q: no object %q in bucket %q: %w", ref.name, key, d.Bucket, ErrNotFound)
	case er.Code == minio.AccessDenied || er.Code == "InvalidAccessKeyId" || er.Code == "SignatureDoesNotMatch" ||
		er.StatusCode == http.StatusForbidden || er.StatusCode == http.StatusUnauthorized:
		out = fmt.Errorf("depot %q: %s refused access to bucket %q (%s: %s); check the depot's accessKey and secretKey", ref.name, endpointName(d), d.Bucket, er.Code, er.Message)
	case er.StatusCode != 0:
		out = fmt.Errorf("depot %q: %s answered %d for %q in bucket %q: %s %s", ref.name, endpointName(d), er.StatusCode, key, d.Bucket, er.Code, er.Message)
	default:
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL adds nothing the message does not say
		}
		out = fmt.Errorf("depot %q: cannot reach S3 at %s: %w", ref.name, endpointName(d), err)
	}
	return scrub(out, d.AccessKey, d.SecretKey)
}

func endpointName(d *S3Depot) string {
	if d.Endpoint == "" {
		return "Amazon S3"
	}
	return d.Endpoint
}

// scrub replaces secret values in an error's text with "<redacted>". The
// result answers errors.Is as err does, but does not unwrap to it: the
// original text must not be reachable.
func scrub(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		if len(s) >= 3 {
			clean = strings.ReplaceAll(clean, s, "<redacted>")
		}
	}
	if clean == msg {
		return err
	}
	return &scrubbed{msg: clean, err: err}
}

type scrubbed struct {
	msg string
	err error
}

func (s *scrubbed) Error() string        { return s.msg }
func (s *scrubbed) Is(target error) bool { return errors.Is(s.err, target) }
