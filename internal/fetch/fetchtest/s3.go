package fetchtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
)

// VersityGWEnv names the environment variable that gives the versitygw
// binary's path.
const VersityGWEnv = "IPOS_VERSITYGW"

// FindVersityGW returns the path of the versitygw binary, or an error
// saying how to install it.
func FindVersityGW() (string, error) {
	if p := os.Getenv(VersityGWEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("$%s: %w", VersityGWEnv, err)
		}
		return p, nil
	}
	if root, err := repoRoot(); err == nil {
		p := filepath.Join(root, "bin", "tools", "versitygw")
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	if p, err := exec.LookPath("versitygw"); err == nil {
		return p, nil
	}
	return "", fmt.Errorf("no versitygw S3 server: run `make tools` (installs bin/tools/versitygw), or set $%s", VersityGWEnv)
}

// repoRoot is the nearest folder above the working directory with a go.mod.
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// S3Server is a running versitygw gateway over a folder.
type S3Server struct {
	Endpoint  string // http://127.0.0.1:PORT
	AccessKey string
	SecretKey string

	cmd  *exec.Cmd
	out  *syncBuffer
	done chan struct{}
}

// StartS3 starts versitygw on a free port over dir (which must exist) with
// fresh credentials, and waits until it answers.
func StartS3(ctx context.Context, dir string) (*S3Server, error) {
	bin, err := FindVersityGW()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 { // the free port may be taken before the server binds it
		s, err := startS3(ctx, bin, dir)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startS3(ctx context.Context, bin, dir string) (*S3Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	s := &S3Server{
		Endpoint:  "http://" + addr,
		AccessKey: "ipostest" + randHex(6),
		SecretKey: randHex(20),
		out:       &syncBuffer{},
		done:      make(chan struct{}),
	}
	s.cmd = exec.Command(bin, "-a", s.AccessKey, "-s", s.SecretKey, "--port", addr, "posix", dir)
	s.cmd.Stdout, s.cmd.Stderr = s.out, s.out
	if err := s.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start versitygw: %w", err)
	}
	go func() { s.cmd.Wait(); close(s.done) }()

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(20 * time.Second)
	for {
		select {
		case <-s.done:
			return nil, fmt.Errorf("versitygw exited: %s", s.out.String())
		case <-ctx.Done():
			s.Close()
			return nil, ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
		if resp, err := client.Get(s.Endpoint + "/"); err == nil {
			resp.Body.Close()
			return s, nil // any answer, even 403, means it serves
		}
		if time.Now().After(deadline) {
			s.Close()
			return nil, fmt.Errorf("versitygw did not answer on %s within 20s: %s", addr, s.out.String())
		}
	}
}

// Close stops the server.
func (s *S3Server) Close() error {
	select {
	case <-s.done:
		return nil
	default:
	}
	s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(5 * time.Second):
		s.cmd.Process.Kill()
		<-s.done
	}
	return nil
}

// Client returns a client with the server's credentials.
func (s *S3Server) Client() (*minio.Client, error) {
	return minio.New(s.Endpoint[len("http://"):], &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		BucketLookup: minio.BucketLookupPath,
		Region:       "us-east-1",
	})
}

// MakeBucket creates a bucket.
func (s *S3Server) MakeBucket(ctx context.Context, bucket string) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	return c.MakeBucket(ctx, bucket, minio.MakeBucketOptions{})
}

// Put stores an object.
func (s *S3Server) Put(ctx context.Context, bucket, key string, data []byte) error {
	c, err := s.Client()
	if err != nil {
		return err
	}
	_, err = c.PutObject(ctx, bucket, key, bytes.NewReader(data), int64(len(data)), minio.PutObjectOptions{})
	return err
}

// NewS3 starts a server for the test over a temporary folder and stops it
// when the test ends. Without versitygw it fails under CI=true and skips
// otherwise.
func NewS3(t testing.TB) *S3Server {
	t.Helper()
	if _, err := FindVersityGW(); err != nil {
		missing(t, err)
	}
	s, err := StartS3(t.Context(), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// missing fails the test under CI=true and skips it otherwise.
func missing(t testing.TB, err error) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%v\nCI must provide this server", err)
	}
	t.Skip(err)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// syncBuffer collects a process's output for error messages.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.buf.Len() > 64<<10 {
		return len(p), nil
	}
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
