package resource

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/ipos-dev/ipos/internal/odf"
)

func ptr[T any](v T) *T { return &v }

func mustParseFile(t *testing.T, name string) []*Object {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	objs, err := DefaultRegistry().Parse(name, data)
	if err != nil {
		t.Fatalf("Parse(%s):\n%v", name, err)
	}
	return objs
}

const calendarID = "did:odf:fed01816ef0a9abe93aba816ef0a9abe93aba90e6065747170300c0d3d30c2cd8d7a4"

// TestGoodManifests parses testdata's good manifests to the typed values
// they declare.
func TestGoodManifests(t *testing.T) {
	tests := []struct {
		file string
		want []*Object
	}{
		{"root-dataset.yaml", []*Object{{
			APIVersion: APIVersion, Kind: "Dataset",
			Metadata: Metadata{
				Name:        "org.example.fx-rates",
				Labels:      map[string]string{"team": "finance"},
				Description: "Daily FX rates",
				Owner:       "did:key:z6MkexampleOwner",
			},
			Spec: &DatasetSpec{
				Kind:     odf.DatasetKindRoot,
				Schedule: "0 6 * * 1-5",
				Metadata: []odf.MetadataEvent{
					odf.SetPollingSource{
						Fetch: odf.FetchStepURL{URL: "depot://fx-api/daily.csv"},
						Read:  odf.ReadStepCsv{Header: ptr(true), Separator: ptr(",")},
						Merge: odf.MergeStrategyLedger{PrimaryKey: []string{"date"}},
					},
					odf.SetVocab{EventTimeColumn: ptr("date")},
				},
			},
			Origin: Origin{Source: "root-dataset.yaml", Document: 1, Line: 2},
		}}},
		{"derivative-dataset.yaml", []*Object{{
			APIVersion: APIVersion, Kind: "Dataset",
			Metadata: Metadata{Name: "org.example.fx-rates.weekly"},
			Spec: &DatasetSpec{
				Kind: odf.DatasetKindDerivative,
				Metadata: []odf.MetadataEvent{odf.SetTransform{
					Inputs: []odf.TransformInput{
						{DatasetRef: "org.example.fx-rates", Alias: ptr("rates")},
						{DatasetRef: calendarID, Alias: ptr("calendar")},
					},
					Transform: odf.TransformSQL{Engine: "duckdb", Query: ptr("SELECT * FROM rates JOIN calendar USING (date)")},
				}},
			},
			Origin: Origin{Source: "derivative-dataset.yaml", Document: 1, Line: 1},
		}}},
		{"depots.yaml", []*Object{
			{
				APIVersion: APIVersion, Kind: "Depot", Metadata: Metadata{Name: "landing"},
				Spec:   &DepotSpec{Local: &LocalDepot{Path: "/srv/landing"}},
				Origin: Origin{Source: "depots.yaml", Document: 1, Line: 2},
			},
			{
				APIVersion: APIVersion, Kind: "Depot", Metadata: Metadata{Name: "fx-api"},
				Spec: &DepotSpec{HTTP: &HTTPDepot{
					BaseURL: "https://api.example.org/fx/",
					Headers: []Header{
						{Name: "Accept", StringSource: StringSource{Value: "text/csv"}},
						{Name: "Authorization", StringSource: StringSource{ValueFrom: &ValueSource{SecretRef: &SecretKeyRef{Name: "fx-token", Key: "header"}}}},
					},
				}},
				Origin: Origin{Source: "depots.yaml", Document: 2, Line: 10},
			},
			{
				APIVersion: APIVersion, Kind: "Depot", Metadata: Metadata{Name: "lake"},
				Spec: &DepotSpec{S3: &S3Depot{
					Bucket: "example-lake", Prefix: "raw/", Endpoint: "https://minio.example.org:9000", Region: "eu-west-1",
					AccessKey: &ValueSource{SecretRef: &SecretKeyRef{Name: "lake-creds", Key: "access-key"}},
					SecretKey: &ValueSource{SecretRef: &SecretKeyRef{Name: "lake-creds", Key: "secret-key"}},
				}},
				Origin: Origin{Source: "depots.yaml", Document: 3, Line: 24},
			},
			{
				APIVersion: APIVersion, Kind: "Depot", Metadata: Metadata{Name: "orders-db"},
				Spec: &DepotSpec{Postgres: &PostgresDepot{
					DSN:   StringSource{ValueFrom: &ValueSource{SecretRef: &SecretKeyRef{Name: "orders-db", Key: "dsn"}}},
					Table: "public.orders",
				}},
				Origin: Origin{Source: "depots.yaml", Document: 4, Line: 39},
			},
		}},
		{"secret.yaml", []*Object{{
			APIVersion: APIVersion, Kind: "Secret", Metadata: Metadata{Name: "lake-creds"},
			Spec:   &SecretSpec{Data: map[string]string{"access-key": "AKIAEXAMPLEKEY", "secret-key": "hunter2-very-secret"}},
			Origin: Origin{Source: "secret.yaml", Document: 1, Line: 1},
		}}},
		{"snapshot.yaml", []*Object{{
			APIVersion: APIVersion, Kind: "Dataset", Metadata: Metadata{Name: "org.example.cases"},
			Spec: &DatasetSpec{
				Kind: odf.DatasetKindRoot,
				Metadata: []odf.MetadataEvent{odf.SetPollingSource{
					Fetch: odf.FetchStepURL{URL: "https://example.org/cases.csv"},
					Read:  odf.ReadStepCsv{Header: ptr(true)},
					Merge: odf.MergeStrategySnapshot{PrimaryKey: []string{"id"}},
				}},
			},
			Origin: Origin{Source: "snapshot.yaml", Document: 1, Line: 2},
		}}},
		{"depots.json", []*Object{
			{
				APIVersion: APIVersion, Kind: "Depot", Metadata: Metadata{Name: "landing"},
				Spec:   &DepotSpec{Local: &LocalDepot{Path: "/srv/landing"}},
				Origin: Origin{Source: "depots.json", Document: 1, Line: 1},
			},
			{
				APIVersion: APIVersion, Kind: "Secret", Metadata: Metadata{Name: "fx-token"},
				Spec:   &SecretSpec{Data: map[string]string{"header": "Bearer abc"}},
				Origin: Origin{Source: "depots.json", Document: 2, Line: 4},
			},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			got := mustParseFile(t, tt.file)
			if len(got) != len(tt.want) {
				t.Fatalf("got %d objects, want %d", len(got), len(tt.want))
			}
			for i := range got {
				if !reflect.DeepEqual(got[i], tt.want[i]) {
					g, _ := MarshalYAML(got[i])
					w, _ := MarshalYAML(tt.want[i])
					t.Errorf("object %d:\n got %#v\n%s\nwant %#v\n%s", i, got[i], g, tt.want[i], w)
				}
			}
		})
	}
}

// TestSnapshotEqualsDataset: a kamu DatasetSnapshot and the equivalent
// Dataset manifest give the same object.
func TestSnapshotEqualsDataset(t *testing.T) {
	snap := mustParseFile(t, "snapshot.yaml")[0]
	manifest := []byte(`
apiVersion: ipos.dev/v1alpha1
kind: Dataset
metadata: {name: org.example.cases}
spec:
  metadata:
    - kind: SetPollingSource
      merge: {kind: Snapshot, primaryKey: [id]}
      read: {kind: Csv, header: true}
      fetch: {kind: Url, url: "https://example.org/cases.csv"}
  kind: Root
`)
	objs, err := DefaultRegistry().Parse("m.yaml", manifest)
	if err != nil {
		t.Fatal(err)
	}
	a, _ := snap.Canonical()
	b, _ := objs[0].Canonical()
	if string(a) != string(b) {
		t.Errorf("snapshot:\n%s\nmanifest:\n%s", a, b)
	}
	s := objs[0].Spec.(*DatasetSpec).Snapshot("org.example.cases")
	if s.Name != "org.example.cases" || s.Kind != odf.DatasetKindRoot || len(s.Metadata) != 1 {
		t.Errorf("Snapshot() = %+v", s)
	}
}
