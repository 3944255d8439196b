package audit

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// Kind classifies what Verify found wrong.
type Kind string

// Kinds of problems, in the words verify prints.
const (
	// KindMalformed: the line is not an entry in canonical form.
	KindMalformed Kind = "malformed"
	// KindEdited: the entry's content does not hash to its hash.
	KindEdited Kind = "edited"
	// KindSignature: the hash is not signed by the node key.
	KindSignature Kind = "bad signature"
	// KindSequence: seq is not one more than the entry before: entries
	// were deleted, reordered or inserted.
	KindSequence Kind = "deleted or reordered"
	// KindChain: prev is not the hash of the entry before.
	KindChain Kind = "broken chain"
	// KindTorn: the last line is not complete, as after a crash mid
	// append or an edit at the end.
	KindTorn Kind = "torn"
	// KindTruncated: the log ends before the entry its checkpoint names.
	KindTruncated Kind = "truncated"
	// KindCheckpoint: head.json is missing, unsigned, forged, or names an
	// entry the log does not hold.
	KindCheckpoint Kind = "checkpoint"
)

// Problem is one thing wrong with the log.
type Problem struct {
	// Seq is the entry concerned: its own seq when it could be read,
	// else the seq expected at that place.
	Seq uint64 `json:"seq"`
	// Line is the 1-based line of the log, 0 for the checkpoint.
	Line    int    `json:"line"`
	Kind    Kind   `json:"kind"`
	Message string `json:"message"`
}

func (p Problem) String() string {
	if p.Line == 0 {
		return fmt.Sprintf("%s: %s", p.Kind, p.Message)
	}
	return fmt.Sprintf("entry %d (line %d): %s: %s", p.Seq, p.Line, p.Kind, p.Message)
}

// Report is what Verify found.
type Report struct {
	// Entries is the number of entries read.
	Entries int `json:"entries"`
	// Last is the seq of the last entry read.
	Last uint64 `json:"last"`
	// Head is the checkpoint, if it could be read.
	Head *Head `json:"head,omitempty"`
	// Problems, in log order; the first is the earliest damage.
	Problems []Problem `json:"problems,omitempty"`
	// Notes are facts worth knowing that are not damage.
	Notes []string `json:"notes,omitempty"`
}

// OK reports whether the log verified.
func (r *Report) OK() bool { return len(r.Problems) == 0 }

func (r *Report) add(seq uint64, line int, kind Kind, format string, args ...any) {
	r.Problems = append(r.Problems, Problem{Seq: seq, Line: line, Kind: kind, Message: fmt.Sprintf(format, args...)})
}

// Verify reads the whole log and its checkpoint and reports every entry
// that was edited, is not signed by the node key, is out of sequence or
// off the hash chain, a torn last line, and a log shorter than its
// checkpoint or a checkpoint that is forged. The error is for failures
// to read; damage is in the Report. A missing log with no checkpoint is
// an empty, valid log.
//
// After a problem the chain is picked up again at the damaged entry, so
// one edit is reported once (and, when the hash field itself was changed,
// again at the next entry's prev).
func (l *Log) Verify(ctx context.Context) (*Report, error) {
	r := &Report{}
	headPath := filepath.Join(l.dir, HeadFile)
	data, err := os.ReadFile(headPath)
	headFound := err == nil
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return nil, err
	default:
		h, err := decodeHead(data, l.pub)
		if err != nil {
			r.add(0, 0, KindCheckpoint, "%s: %v (forged or edited)", HeadFile, err)
		} else {
			r.Head = &h
		}
	}
	f, err := os.Open(filepath.Join(l.dir, LogFile))
	if errors.Is(err, fs.ErrNotExist) {
		if headFound && (r.Head == nil || r.Head.Seq > 0) {
			r.add(1, 0, KindTruncated, "%s is missing but %s exists", LogFile, HeadFile)
		}
		return r, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()

	var (
		prev      string
		expect    uint64 = 1
		offset    int64
		headLine  int   // line of the checkpoint's entry, once seen
		headEnd   int64 // offset after it
		headMatch bool
		lost      bool // the line before could not be read: skip the prev check
	)
	rd := bufio.NewReader(f)
	for n := 1; ; n++ {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		line, err := rd.ReadBytes('\n')
		if errors.Is(err, io.EOF) {
			if len(line) > 0 {
				r.add(expect, n, KindTorn, "the last line has no end (%d bytes): a crash during an append, or an edit; the next append moves it aside", len(line))
			}
			break
		}
		if err != nil {
			return nil, err
		}
		offset += int64(len(line))
		e, err := DecodeLine(line[:len(line)-1])
		if err != nil {
			r.add(expect, n, KindMalformed, "%v", strings.TrimPrefix(err.Error(), ErrMalformed.Error()+": "))
			expect++
			lost = true
			continue
		}
		r.Entries++
		seq := e.Seq
		if kind, err := Check(e, l.pub); err != nil {
			// Its content cannot be trusted, seq included: name it by
			// its place, and go on from there.
			r.add(expect, n, kind, "%v", err)
			seq = expect
		} else if e.Seq != expect {
			r.add(e.Seq, n, KindSequence, "seq %d where %d was expected", e.Seq, expect)
		} else if e.Prev != prev && !lost {
			r.add(e.Seq, n, KindChain, "prev is %s but the entry before hashes to %s", orNone(e.Prev), orNone(prev))
		}
		if r.Head != nil && seq == r.Head.Seq && headLine == 0 {
			headLine, headEnd = n, offset
			headMatch = e.Hash == r.Head.Hash
		}
		r.Last = seq
		prev, expect, lost = e.Hash, seq+1, false
	}

	switch h := r.Head; {
	case h == nil && !headFound && offset > 0:
		r.add(0, 0, KindCheckpoint, "%s is missing: a truncated log cannot be told from a whole one", HeadFile)
	case h == nil:
	case h.Seq == 0:
		if h.Size != 0 {
			r.add(0, 0, KindCheckpoint, "the checkpoint has no entry but covers %d bytes", h.Size)
		}
	case headLine == 0:
		r.add(r.Last+1, 0, KindTruncated, "the log ends at entry %d but its checkpoint names entry %d (%d bytes); the entries after %d were removed", r.Last, h.Seq, h.Size, r.Last)
	case !headMatch || headEnd != h.Size:
		r.add(h.Seq, headLine, KindCheckpoint, "the checkpoint names entry %d with hash %s at %d bytes, but the log holds a different entry %d (or different bytes before it)", h.Seq, h.Hash, h.Size, h.Seq)
	}
	if r.Head != nil && r.Last > r.Head.Seq && (headLine > 0 || r.Head.Seq == 0) {
		r.Notes = append(r.Notes, fmt.Sprintf("entries %d to %d come after the checkpoint (entry %d): a crash before the checkpoint moved; the next append takes them up", r.Head.Seq+1, r.Last, r.Head.Seq))
	}
	return r, nil
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}
