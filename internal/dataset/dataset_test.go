package dataset

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/ipos-dev/ipos/internal/odf"
	"github.com/ipos-dev/ipos/internal/store"
)

func ptr[T any](v T) *T { return &v }

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func newKey(t testing.TB) ed25519.PrivateKey {
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func rootSnapshot(name string) *odf.DatasetSnapshot {
	return &odf.DatasetSnapshot{
		Name: name,
		Kind: odf.DatasetKindRoot,
		Metadata: []odf.MetadataEvent{
			odf.AddPushSource{
				SourceName: "default",
				Read:       odf.ReadStepNdJSON{Schema: &odf.DataSchema{Fields: []odf.DataField{{Name: "city", Type: odf.DataTypeString{}}, {Name: "population", Type: odf.DataTypeInt64{}}}}},
				Merge:      odf.MergeStrategyLedger{PrimaryKey: []string{"city"}},
			},
			odf.SetInfo{Description: ptr("Population of cities"), Keywords: []string{"demo"}},
			odf.SetLicense{ShortName: "CC0", SpdxID: ptr("CC0-1.0")},
		},
	}
}

// withData creates a dataset and appends two AddData blocks whose data
// files and a checkpoint are real objects in the store.
func withData(t *testing.T) *Dataset {
	t.Helper()
	ctx := context.Background()
	d, err := Create(ctx, t.TempDir(), newKey(t), rootSnapshot("cities"), t0)
	if err != nil {
		t.Fatal(err)
	}
	tx, err := d.Chain.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var prev *uint64
	var prevCP odf.Multihash
	for i := uint64(0); i < 2; i++ {
		content := []byte(strings.Repeat(fmt.Sprintf("slice %d ", i), 20))
		h, err := d.Store.Data.Put(ctx, content)
		if err != nil {
			t.Fatal(err)
		}
		cp := []byte(fmt.Sprintf("checkpoint %d", i))
		ch, err := d.Store.Checkpoints.Put(ctx, cp)
		if err != nil {
			t.Fatal(err)
		}
		_, err = tx.Append(ctx, &odf.MetadataBlock{SystemTime: t0.Add(time.Minute), Event: odf.AddData{
			PrevOffset:     prev,
			PrevCheckpoint: prevCP,
			NewData: &odf.DataSlice{
				LogicalHash:    odf.NewMultihash(odf.CodeArrow0SHA3_256, make([]byte, 32)),
				PhysicalHash:   h,
				OffsetInterval: odf.OffsetInterval{Start: i * 10, End: i*10 + 9},
				Size:           uint64(len(content)),
			},
			NewCheckpoint: &odf.Checkpoint{PhysicalHash: ch, Size: uint64(len(cp))},
			NewWatermark:  ptr(t0.Add(time.Duration(i) * time.Hour)),
		}})
		if err != nil {
			t.Fatal(err)
		}
		prev, prevCP = ptr(i*10+9), ch
	}
	if _, err := tx.Commit(ctx); err != nil {
		t.Fatal(err)
	}
	return d
}

func TestCreateAndVerify(t *testing.T) {
	d := withData(t)
	rep, err := d.VerifyIntegrity(context.Background(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if rep.Blocks != 6 || rep.DataFiles != 2 || rep.Checkpoints != 2 {
		t.Fatalf("report: %+v", rep)
	}
	if d.Alias != "cities" {
		t.Fatalf("alias %q", d.Alias)
	}
	head, err := os.ReadFile(filepath.Join(d.Dir, "refs", "head"))
	if err != nil || !strings.HasPrefix(string(head), "f1620") || strings.HasSuffix(string(head), "\n") {
		t.Fatalf("refs/head %q, %v", head, err)
	}
}

func TestCreateLeavesNothingOnError(t *testing.T) {
	parent := t.TempDir()
	bad := rootSnapshot("cities")
	bad.Metadata = append(bad.Metadata, bad.Metadata[1]) // the same SetInfo twice: a no-op
	_, err := Create(context.Background(), parent, newKey(t), bad, t0)
	if err == nil || !strings.Contains(err.Error(), "metadata[3]") {
		t.Fatalf("got %v, want an error naming metadata[3]", err)
	}
	entries, _ := os.ReadDir(parent)
	if len(entries) != 0 {
		t.Fatalf("a failed create left %d entries", len(entries))
	}
	if err := Check(context.Background(), newKey(t), bad, t0); err == nil {
		t.Fatal("Check accepted what Create refuses")
	}
	if err := Check(context.Background(), newKey(t), &odf.DatasetSnapshot{Name: "bad name!"}, t0); !errors.Is(err, ErrInvalidName) {
		t.Fatalf("bad name: %v", err)
	}
}

// flipEachByte flips every byte of file in turn and requires verification
// to fail naming want each time, restoring the file after each flip.
func flipEachByte(t *testing.T, d *Dataset, file, want string) {
	t.Helper()
	orig, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(file, 0o644); err != nil {
		t.Fatal(err)
	}
	defer os.WriteFile(file, orig, 0o444)
	for i := range orig {
		mod := append([]byte(nil), orig...)
		mod[i] ^= 0x01
		if err := os.WriteFile(file, mod, 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := d.VerifyIntegrity(context.Background(), nil)
		var ie *IntegrityError
		if !errors.As(err, &ie) {
			t.Fatalf("byte %d flipped in %s: got %v, want an IntegrityError", i, file, err)
		}
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("byte %d flipped in %s: error %q does not name %s", i, file, err, want)
		}
	}
	if err := os.WriteFile(file, orig, 0o444); err != nil {
		t.Fatal(err)
	}
	if _, err := d.VerifyIntegrity(context.Background(), nil); err != nil {
		t.Fatalf("after restoring %s: %v", file, err)
	}
}

func TestVerifyFindsEveryFlippedByte(t *testing.T) {
	ctx := context.Background()
	d := withData(t)
	head, err := d.Chain.Head(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Run("refs/head", func(t *testing.T) {
		flipEachByte(t, d, filepath.Join(d.Dir, "refs", "head"), "refs/head")
	})
	for b, err := range d.Chain.Walk(ctx, head) {
		if err != nil {
			t.Fatal(err)
		}
		t.Run("block "+strconv.Itoa(int(b.SequenceNumber)), func(t *testing.T) {
			flipEachByte(t, d, d.BlockPath(b.Hash), b.Hash.String())
		})
		if a, ok := b.Event.(odf.AddData); ok {
			t.Run("data "+strconv.Itoa(int(b.SequenceNumber)), func(t *testing.T) {
				flipEachByte(t, d, filepath.Join(d.Dir, "data", a.NewData.PhysicalHash.String()), "data "+a.NewData.PhysicalHash.String())
			})
			t.Run("checkpoint "+strconv.Itoa(int(b.SequenceNumber)), func(t *testing.T) {
				flipEachByte(t, d, filepath.Join(d.Dir, "checkpoints", a.NewCheckpoint.PhysicalHash.String()), "checkpoint "+a.NewCheckpoint.PhysicalHash.String())
			})
		}
	}
}

func TestVerifyFindsMissingObjects(t *testing.T) {
	ctx := context.Background()
	d := withData(t)
	head, _ := d.Chain.Head(ctx)
	b, err := d.Chain.Get(ctx, head)
	if err != nil {
		t.Fatal(err)
	}
	data := b.Event.(odf.AddData).NewData.PhysicalHash
	if err := d.Store.Data.Delete(ctx, data); err != nil {
		t.Fatal(err)
	}
	_, err = d.VerifyIntegrity(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "data "+data.String()+": missing") {
		t.Fatalf("got %v", err)
	}
	if err := d.Store.Blocks.Delete(ctx, b.PrevBlockHash); err != nil {
		t.Fatal(err)
	}
	_, err = d.VerifyIntegrity(ctx, nil)
	if err == nil || !strings.Contains(err.Error(), "block "+b.PrevBlockHash.String()+": missing") {
		t.Fatalf("got %v", err)
	}
}

// The hammer: several processes append to one dataset at once. Each append
// either lands on top of the head it read or is refused with a conflict and
// retried; in the end every process's blocks are in the chain, in each
// process's order, and the chain verifies.
const hammerEnv = "IPOS_DATASET_HAMMER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(hammerEnv); spec != "" {
		os.Exit(hammerWorker(spec))
	}
	os.Exit(m.Run())
}

func hammerWorker(spec string) int {
	parts := strings.Split(spec, ",")
	dir, worker := parts[0], parts[1]
	n, _ := strconv.Atoi(parts[2])
	if err := appendMany(dir, worker, n); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func appendMany(dir, worker string, n int) error {
	ctx := context.Background()
	d, err := Open(dir)
	if err != nil {
		return err
	}
	for i := 0; i < n; i++ {
		for attempt := 0; ; attempt++ {
			tx, err := d.Chain.Begin(ctx)
			if err != nil {
				return err
			}
			desc := fmt.Sprintf("%s-%03d", worker, i)
			if _, err := tx.Append(ctx, &odf.MetadataBlock{SystemTime: time.Now(), Event: odf.SetInfo{Description: &desc}}); err != nil {
				return err
			}
			_, err = tx.Commit(ctx)
			if err == nil {
				break
			}
			if !errors.Is(err, store.ErrConflict) || attempt > 10000 {
				return err
			}
		}
	}
	return nil
}

func TestHammerTwoProcesses(t *testing.T) {
	ctx := context.Background()
	d, err := Create(ctx, t.TempDir(), newKey(t), rootSnapshot("hammer"), t0)
	if err != nil {
		t.Fatal(err)
	}
	const perWorker = 60
	var cmds []*exec.Cmd
	for _, w := range []string{"a", "b"} {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), fmt.Sprintf("%s=%s,%s,%d", hammerEnv, d.Dir, w, perWorker))
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		cmds = append(cmds, cmd)
	}
	// This process takes part too.
	if err := appendMany(d.Dir, "c", perWorker); err != nil {
		t.Fatal(err)
	}
	for _, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("worker: %v", err)
		}
	}
	rep, err := d.VerifyIntegrity(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := 4 + 3*perWorker; rep.Blocks != want {
		t.Fatalf("%d blocks, want %d", rep.Blocks, want)
	}
	head, _ := d.Chain.Head(ctx)
	next := map[string]int{"a": perWorker - 1, "b": perWorker - 1, "c": perWorker - 1}
	for b, err := range d.Chain.Walk(ctx, head) {
		if err != nil {
			t.Fatal(err)
		}
		info, ok := b.Event.(odf.SetInfo)
		if !ok || info.Keywords != nil {
			continue
		}
		w, num, _ := strings.Cut(*info.Description, "-")
		i, _ := strconv.Atoi(num)
		if i != next[w] {
			t.Fatalf("worker %s: found step %d, expected %d (newest first)", w, i, next[w])
		}
		next[w]--
	}
	for w, n := range next {
		if n != -1 {
			t.Fatalf("worker %s: steps 0..%d missing", w, n)
		}
	}
}
