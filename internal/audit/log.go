package audit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

// File names inside the audit folder.
const (
	LogFile  = "log.jsonl"
	HeadFile = "head.json"
	lockFile = "lock"
)

// ErrCheckpoint marks a log whose checkpoint cannot be trusted; appends
// are refused until someone looks at it (see docs/audit.md).
var ErrCheckpoint = errors.New("audit checkpoint is damaged")

// Log is the audit log in one folder (normally .ipos/audit), signed by
// one node key. A Log is safe for concurrent use by goroutines and by
// processes: every append holds a lock file.
type Log struct {
	dir string
	key ed25519.PrivateKey
	pub ed25519.PublicKey
	// Now is the clock for entries without a time; nil means time.Now.
	Now func() time.Time
}

// Open returns the log in dir, signed by key. It does not touch the disk:
// the folder is made by the first Append.
func Open(dir string, key ed25519.PrivateKey) *Log {
	return &Log{dir: dir, key: key, pub: key.Public().(ed25519.PublicKey)}
}

// Dir is the audit folder.
func (l *Log) Dir() string { return l.dir }

// NodeActor is the actor of entries the log writes about itself.
func (l *Log) NodeActor() Actor { return Actor{DID: odf.DIDKeyOf(l.pub), Name: "node"} }

func (l *Log) now() time.Time {
	if l.Now != nil {
		return l.Now()
	}
	return time.Now()
}

// tip is the last entry the next one chains onto.
type tip struct {
	seq  uint64
	hash string
	size int64 // bytes of the log through this entry
}

// Append adds e to the log and returns it as written, with Seq, Prev,
// Hash and Sig set (and Time, if it was zero). The line is fsynced before
// the checkpoint moves, so a crash leaves either the old log, the new
// entry without its checkpoint (taken up by the next append), or a torn
// last line, which the next append moves aside into torn-SEQ-TIME.bin and
// records in an audit.recover entry before its own.
func (l *Log) Append(ctx context.Context, e Entry) (Entry, error) {
	if e.Action == "" {
		return Entry{}, errors.New("audit entry without an action")
	}
	if !e.Outcome.valid() {
		return Entry{}, fmt.Errorf("audit entry %s: outcome %q is not ok, error, allow or deny", e.Action, e.Outcome)
	}
	if e.Actor.DID == "" {
		return Entry{}, fmt.Errorf("audit entry %s: no actor", e.Action)
	}
	if err := os.MkdirAll(l.dir, 0o755); err != nil {
		return Entry{}, err
	}
	unlock, err := store.LockFile(ctx, filepath.Join(l.dir, lockFile))
	if err != nil {
		return Entry{}, err
	}
	defer unlock()
	f, t, err := l.openTail(ctx)
	if err != nil {
		return Entry{}, err
	}
	defer f.Close()
	if e.Time.IsZero() {
		e.Time = l.now()
	}
	e.Time = e.Time.UTC()
	e, _, err = l.write(f, t, e)
	return e, err
}

// write appends e after t, fsyncs, and moves the checkpoint. It returns
// the sealed entry and the log's new size.
func (l *Log) write(f *os.File, t tip, e Entry) (Entry, int64, error) {
	e.Seq, e.Prev, e.Hash, e.Sig = t.seq+1, t.hash, "", ""
	e, line, err := seal(e, l.key)
	if err != nil {
		return Entry{}, 0, err
	}
	if _, err := f.WriteAt(line, t.size); err != nil {
		return Entry{}, 0, fmt.Errorf("appending to the audit log: %w", err)
	}
	if err := f.Sync(); err != nil {
		return Entry{}, 0, fmt.Errorf("appending to the audit log: %w", err)
	}
	next := tip{seq: e.Seq, hash: e.Hash, size: t.size + int64(len(line))}
	if err := l.writeHead(next, e.Time); err != nil {
		return Entry{}, 0, err
	}
	return e, next.size, nil
}

func (l *Log) writeHead(t tip, at time.Time) error {
	_, data, err := sealHead(Head{Seq: t.seq, Hash: t.hash, Size: t.size, Time: at.UTC(), Node: odf.DIDKeyOf(l.pub)}, l.key)
	if err != nil {
		return err
	}
	return store.WriteFileAtomic(filepath.Join(l.dir, HeadFile), data, 0o644)
}

// openTail opens the log for writing and finds the entry to chain onto:
// the checkpoint's, or a later complete entry that chains onto it (left
// by a crash before the checkpoint moved). Bytes after that are a torn
// write: they are moved aside and recorded. Callers hold the lock.
func (l *Log) openTail(ctx context.Context) (*os.File, tip, error) {
	logPath := filepath.Join(l.dir, LogFile)
	head, found, err := l.readHead()
	if err != nil {
		return nil, tip{}, err
	}
	f, err := os.OpenFile(logPath, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, tip{}, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, tip{}, err
	}
	if !found {
		if st.Size() > 0 {
			f.Close()
			return nil, tip{}, fmt.Errorf("%w: %s is missing but %s has entries; run `ipos audit verify`", ErrCheckpoint, filepath.Join(l.dir, HeadFile), logPath)
		}
		// A new log: its empty checkpoint goes first, so that from now on
		// a log without a checkpoint is always a damaged one.
		if err := store.SyncDir(l.dir); err != nil {
			f.Close()
			return nil, tip{}, err
		}
		if err := l.writeHead(tip{}, l.now()); err != nil {
			f.Close()
			return nil, tip{}, err
		}
		return f, tip{}, nil
	}
	t := tip{seq: head.Seq, hash: head.Hash, size: head.Size}
	var rest []byte
	var reason string
	if st.Size() < t.size {
		// Entries the checkpoint covers are gone: not a crash (they were
		// fsynced before the checkpoint moved) but a loss or an edit.
		// Appending goes on after the last complete line, after the seq
		// gap, so verify keeps showing the loss.
		end, err := lastNewline(f, st.Size())
		if err != nil {
			f.Close()
			return nil, tip{}, err
		}
		rest = make([]byte, st.Size()-end)
		if _, err := f.ReadAt(rest, end); err != nil {
			f.Close()
			return nil, tip{}, err
		}
		reason = fmt.Sprintf("the log is %d bytes long but its checkpoint covers %d bytes through entry %d: entries were removed", st.Size(), t.size, t.seq)
		t.size = end
	} else if st.Size() > t.size {
		rest = make([]byte, st.Size()-t.size)
		if _, err := f.ReadAt(rest, t.size); err != nil {
			f.Close()
			return nil, tip{}, err
		}
		// Take up complete entries that chain onto the checkpoint.
		for {
			i := bytes.IndexByte(rest, '\n')
			if i < 0 {
				break
			}
			e, err := DecodeLine(rest[:i])
			if err != nil {
				break
			}
			if k, _ := Check(e, l.pub); k != "" || e.Seq != t.seq+1 || e.Prev != t.hash {
				break
			}
			t = tip{seq: e.Seq, hash: e.Hash, size: t.size + int64(i) + 1}
			rest = rest[i+1:]
		}
		if len(rest) == 0 {
			return f, t, l.writeHead(t, l.now())
		}
		reason = "bytes after the last good entry were not a complete entry chained onto it (a torn write or an edit)"
	} else {
		return f, t, nil
	}
	rec := Entry{
		Time:    l.now().UTC(),
		Actor:   l.NodeActor(),
		Action:  "audit.recover",
		Object:  LogFile,
		Outcome: OK,
		Reasons: []string{reason},
		Details: map[string]string{"afterSeq": strconv.FormatUint(t.seq, 10)},
	}
	if len(rest) > 0 {
		// Keep the cut bytes as evidence.
		saved := fmt.Sprintf("torn-%d-%d.bin", t.seq, l.now().UnixNano())
		if err := store.WriteFileAtomic(filepath.Join(l.dir, saved), rest, 0o644); err != nil {
			f.Close()
			return nil, tip{}, err
		}
		if err := f.Truncate(t.size); err != nil {
			f.Close()
			return nil, tip{}, err
		}
		rec.Reasons = append(rec.Reasons, "the cut bytes were moved aside")
		rec.Details["bytes"] = strconv.Itoa(len(rest))
		rec.Details["sha3"] = odf.SHA3(rest).String()
		rec.Details["savedTo"] = saved
	}
	written, size, err := l.write(f, t, rec)
	if err != nil {
		f.Close()
		return nil, tip{}, err
	}
	return f, tip{seq: written.Seq, hash: written.Hash, size: size}, nil
}

// lastNewline returns the offset just after the last newline before end,
// or 0 if there is none.
func lastNewline(f *os.File, end int64) (int64, error) {
	buf := make([]byte, 64<<10)
	for end > 0 {
		start := max(0, end-int64(len(buf)))
		chunk := buf[:end-start]
		if _, err := f.ReadAt(chunk, start); err != nil {
			return 0, err
		}
		if i := bytes.LastIndexByte(chunk, '\n'); i >= 0 {
			return start + int64(i) + 1, nil
		}
		end = start
	}
	return 0, nil
}

// readHead reads and checks the checkpoint; found is false if there is
// none.
func (l *Log) readHead() (h Head, found bool, err error) {
	path := filepath.Join(l.dir, HeadFile)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return Head{}, false, nil
	}
	if err != nil {
		return Head{}, false, err
	}
	h, err = decodeHead(data, l.pub)
	if err != nil {
		return Head{}, false, fmt.Errorf("%w: %s: %v; run `ipos audit verify`", ErrCheckpoint, path, err)
	}
	return h, true, nil
}

// Entries returns the entries made at or after since (all of them when
// since is zero), in log order. It does not verify hashes or signatures
// (Verify does) but fails on a line that is not an entry. An unfinished
// last line (a torn write) is skipped.
func (l *Log) Entries(ctx context.Context, since time.Time) ([]Entry, error) {
	f, err := os.Open(filepath.Join(l.dir, LogFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []Entry
	r := bufio.NewReader(f)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		line, err := r.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, err
		}
		e, err := DecodeLine(line[:len(line)-1])
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w; run `ipos audit verify`", filepath.Join(l.dir, LogFile), n, err)
		}
		if since.IsZero() || !e.Time.Before(since) {
			out = append(out, e)
		}
	}
}
