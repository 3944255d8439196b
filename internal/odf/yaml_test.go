package odf

import (
	"bytes"
	"crypto/sha3"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"
)

var update = flag.Bool("update", false, "rewrite the golden printed YAML under testdata/yaml")

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "yaml", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// normalised returns a deep copy of a model value with every
// ExtraAttributes replaced by its JSON read back into float64s, so that
// values from YAML (json.Number), FlatBuffers (float64) and Go literals
// (int) compare equal when they mean the same numbers.
func normalised(v any) any { return normaliseValue(reflect.ValueOf(v)).Interface() }

func normaliseValue(v reflect.Value) reflect.Value {
	t := v.Type()
	switch {
	case t == extraType:
		if v.IsNil() {
			return v
		}
		js, err := extraJSON(v.Interface().(ExtraAttributes))
		if err != nil {
			panic(err)
		}
		var x map[string]any
		if err := json.Unmarshal(js, &x); err != nil {
			panic(err)
		}
		return reflect.ValueOf(ExtraAttributes(x))
	case t == timeType || t == datasetIDType || t == multihashType || t == bytesType:
		return v
	}
	switch t.Kind() {
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return v
		}
		inner := normaliseValue(v.Elem())
		if t.Kind() == reflect.Interface {
			out := reflect.New(t).Elem()
			out.Set(inner)
			return out
		}
		out := reflect.New(t.Elem())
		out.Elem().Set(inner)
		return out
	case reflect.Struct:
		out := reflect.New(t).Elem()
		out.Set(v)
		for _, f := range modelFields[t] {
			out.Field(f.index).Set(normaliseValue(v.Field(f.index)))
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(t, v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(normaliseValue(v.Index(i)))
		}
		return out
	}
	return v
}

func TestGoldenBlocksYAMLRoundTrip(t *testing.T) {
	for _, c := range goldenCases(t) {
		t.Run(c.name, func(t *testing.T) {
			want := goldenBlock(c.event)
			text, err := MarshalBlockYAML(want)
			if err != nil {
				t.Fatal(err)
			}
			got, err := UnmarshalBlockYAML(text)
			if err != nil {
				t.Fatalf("%v\n%s", err, text)
			}
			if !reflect.DeepEqual(normalised(got), normalised(want)) {
				t.Fatalf("YAML round trip:\n got %#v\nwant %#v\n%s", got, want, text)
			}

			// The block read back from YAML serialises to kamu's bytes.
			data, err := EncodeBlock(got)
			if err != nil {
				t.Fatal(err)
			}
			sum := sha3.Sum256(data)
			if h := hex.EncodeToString(sum[:]); h != c.v3 {
				t.Fatalf("hash after YAML round trip %s, kamu's is %s\n%s", h, c.v3, text)
			}

			// YAML → FlatBuffers → YAML prints the same text.
			back, _, err := DecodeBlock(data)
			if err != nil {
				t.Fatal(err)
			}
			again, err := MarshalBlockYAML(back)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(again, text) {
				t.Fatalf("YAML → FlatBuffers → YAML changed the text:\n%s\nthen\n%s", text, again)
			}

			// The JSON form is the same tree, and JSON is YAML.
			js, err := MarshalBlockJSON(want)
			if err != nil {
				t.Fatal(err)
			}
			if !json.Valid(js) {
				t.Fatalf("invalid JSON:\n%s", js)
			}
			fromJSON, err := UnmarshalBlockYAML(js)
			if err != nil {
				t.Fatalf("%v\n%s", err, js)
			}
			if !reflect.DeepEqual(fromJSON, got) {
				t.Fatalf("JSON round trip:\n got %#v\nwant %#v", fromJSON, got)
			}
		})
	}
}

func TestMarshalBlockJSON(t *testing.T) {
	b := goldenBlock(AddData{
		PrevOffset:   ptr(uint64(9)),
		NewWatermark: ptr(goldenTime.Add(1500 * time.Millisecond)),
		Extra:        ExtraAttributes{"b": "<&>", "a": []any{1, 2.5, true, nil}},
	})
	got, err := MarshalBlockJSON(b)
	if err != nil {
		t.Fatal(err)
	}
	want := `{
  "kind": "MetadataBlock",
  "version": 3,
  "content": {
    "systemTime": "2020-01-01T12:00:00Z",
    "prevBlockHash": "f16209eb949bd8ff0bb1d827f11809aebc6bd0d5955c7f368469a913c70d196620272",
    "sequenceNumber": 117,
    "event": {
      "kind": "AddData",
      "prevOffset": 9,
      "newWatermark": "2020-01-01T12:00:01.500Z",
      "extra": {
        "a": [
          1,
          2.5,
          true,
          null
        ],
        "b": "<&>"
      }
    }
  }
}
`
	if string(got) != want {
		t.Fatalf("got\n%s\nwant\n%s", got, want)
	}
}

// kamu's YAML test vectors (testdata/yaml/kamu): each document must read
// as the value below and, unless noted, print back byte for byte.
func TestKamuYAMLVectors(t *testing.T) {
	block := func(seq uint64, e MetadataEvent) *MetadataBlock {
		return &MetadataBlock{SystemTime: goldenTime, PrevBlockHash: sha3mh("prev"), SequenceNumber: seq, Event: e}
	}
	sqlSpark := func(q string) Transform { return TransformSQL{Engine: "spark", Query: ptr(q)} }
	var executeTransform MetadataEvent // kamu's block vector holds the event of its FlatBuffers vector
	for _, c := range goldenCases(t) {
		if c.name == "ExecuteTransform" {
			executeTransform = c.event
		}
	}

	cases := []struct {
		file    string
		printed string // file with the printed form, if it differs
		decode  func([]byte) (any, error)
		want    any
	}{
		{file: "snapshot-root.yaml", decode: parseOneSnapshot, want: &DatasetSnapshot{
			Name: "kamu.test",
			Kind: DatasetKindRoot,
			Metadata: []MetadataEvent{SetPollingSource{
				Fetch:      FetchStepURL{URL: "ftp://kamu.dev/test.zip", Cache: SourceCachingForever{}},
				Prepare:    []PrepStep{PrepStepDecompress{Format: CompressionZip, SubPath: ptr("data_*.csv")}},
				Read:       ReadStepCsv{Header: ptr(true)},
				Preprocess: sqlSpark("SELECT * FROM input"),
				Merge:      MergeStrategySnapshot{PrimaryKey: []string{"id"}},
			}},
		}},
		{file: "snapshot-derivative.yaml", decode: parseOneSnapshot, want: &DatasetSnapshot{
			Name: "com.naturalearthdata.admin0",
			Kind: DatasetKindDerivative,
			Metadata: []MetadataEvent{SetTransform{
				Inputs:    []TransformInput{{DatasetRef: "com.naturalearthdata.10m.admin0"}, {DatasetRef: "com.naturalearthdata.50m.admin0"}},
				Transform: sqlSpark("SOME_SQL"),
			}},
		}},
		{file: "snapshot-derivative-multi-tenant.yaml", decode: parseOneSnapshot, want: &DatasetSnapshot{
			Name: "a/com.naturalearthdata.admin0",
			Kind: DatasetKindDerivative,
			Metadata: []MetadataEvent{SetTransform{
				Inputs:    []TransformInput{{DatasetRef: "b/com.naturalearthdata.10m.admin0"}, {DatasetRef: "c/com.naturalearthdata.50m.admin0"}},
				Transform: sqlSpark("SOME_SQL"),
			}},
		}},
		{file: "block-execute-transform.yaml", decode: decodeBlockAny, want: block(127, executeTransform)},
		{file: "block-set-data-schema.yaml", decode: decodeBlockAny, want: block(123, SetDataSchema{Schema: &DataSchema{
			Fields: []DataField{
				{Name: "city", Type: DataTypeString{}, Extra: ExtraAttributes{
					"arrow.apache.org/bufferEncoding": map[string]any{"kind": "View", "offsetBitWidth": 32}}},
				{Name: "population", Type: DataTypeUInt64{}},
				{Name: "census", Type: DataTypeOption{Inner: DataTypeString{}}, Extra: ExtraAttributes{
					"opendatafabric.org/type": map[string]any{"kind": "ObjectLink", "linkType": map[string]any{"kind": "Multihash"}}}},
				{Name: "links", Type: DataTypeList{ItemType: DataTypeString{}}},
			},
			Extra: ExtraAttributes{"kamu.dev/archetype": "Collection"},
		}})},
		{file: "block-set-data-schema-legacy.yaml", decode: decodeBlockAny, want: block(123, SetDataSchema{
			RawArrowSchema: mustBase64(t, "DAAAAAgACAAAAAQACAAAAAQAAAACAAAAQAAAAAQAAADY////GAAAAAwAAAAAAAAGEAAAAAAAAAAEAAQABAAAAAEAAABiAAAAEAAUABAAAAAPAAQAAAAIABAAAAAYAAAAIAAAAAAAAAIcAAAACAAMAAQACwAIAAAAQAAAAAAAAAEAAAAAAQAAAGEAAAA="),
		})},
		{file: "fetch-files-glob.yaml", decode: asAny[FetchStep], want: FetchStep(FetchStepFilesGlob{
			Path: "/opt/x/*.txt", Cache: SourceCachingForever{}, Order: ptr(SourceOrderingByName),
		})},
		{file: "transform-sql.yaml", decode: asAny[Transform], want: Transform(TransformSQL{
			Engine:         "flink",
			Queries:        []SqlQueryStep{{Alias: ptr("bar"), Query: "SELECT * FROM foo"}},
			TemporalTables: []TemporalTable{{Name: "foo", PrimaryKey: []string{"id"}}},
		})},
		{file: "read-ndjson.yaml", decode: asAny[ReadStep], want: ReadStep(ReadStepNdJSON{Encoding: ptr("utf-8")})},
		{file: "schema-short-form.yaml", printed: "schema-short-form.printed.yaml", decode: asAny[DataSchema], want: DataSchema{
			Fields: []DataField{
				{Name: "long", Type: DataTypeTimestamp{}},
				{Name: "short", Type: DataTypeTimestamp{}},
				{Name: "full", Type: DataTypeTimestamp{Unit: ptr(TimeUnitNanosecond), Timezone: ptr("UTC")}},
			},
		}},
		{file: "extra-attributes.yaml", decode: asAny[ExtraAttributes], want: ExtraAttributes{
			"arrow.apache.org/offsetBitWidth": 32,
			"opendatafabric.org/description":  "foobar",
			"opendatafabric.org/type":         map[string]any{"kind": "ObjectLink", "linkType": map[string]any{"kind": "Multihash"}},
		}},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			data := readTestdata(t, "kamu/"+c.file)
			got, err := c.decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(normalised(got), normalised(c.want)) {
				t.Fatalf("read\n got %#v\nwant %#v", got, c.want)
			}
			text, err := marshalAny(got)
			if err != nil {
				t.Fatal(err)
			}
			want := data
			if c.printed != "" {
				want = readTestdata(t, "kamu/"+c.printed)
			}
			if !bytes.Equal(text, want) {
				t.Fatalf("printed\n%s\nkamu prints\n%s", text, want)
			}
		})
	}
}

func TestKamuRejectsObsoleteBlockVersion(t *testing.T) {
	_, err := UnmarshalBlockYAML(readTestdata(t, "kamu/block-obsolete-version.yaml"))
	var ye *YAMLError
	if !errors.As(err, &ye) || ye.Line != 2 || ye.Path != "version" || !strings.Contains(ye.Msg, "unsupported MetadataBlock version 1") {
		t.Fatalf("got %v", err)
	}
}

// Union kinds and enum values are read as PascalCase, camelCase or lower
// case, and no other mixture of case, as kamu reads them.
func TestKindAndEnumCase(t *testing.T) {
	want := ReadStep(ReadStepNdJSON{Encoding: ptr("utf-8")})
	for _, kind := range []string{"NdJson", "ndJson", "ndjson"} {
		got, err := decodeAs[ReadStep]([]byte("kind: " + kind + "\nencoding: utf-8\n"))
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("kind %s: got %#v, %v", kind, got, err)
		}
	}
	if _, err := decodeAs[ReadStep]([]byte("kind: nDjson\nencoding: utf-8\n")); err == nil {
		t.Error("kind nDjson was accepted")
	}

	text, err := marshalYAMLValue(ptr(SourceOrderingByEventTime))
	if err != nil || string(text) != "ByEventTime\n" {
		t.Errorf("SourceOrdering prints %q, %v", text, err)
	}
	for _, s := range []string{"ByEventTime", "byEventTime", "byeventtime"} {
		got, err := decodeAs[SourceOrdering]([]byte(s))
		if err != nil || got != SourceOrderingByEventTime {
			t.Errorf("%s: got %v, %v", s, got, err)
		}
	}
	if _, err := decodeAs[SourceOrdering]([]byte("bYeventtime")); err == nil {
		t.Error("bYeventtime was accepted")
	}
}

// The manifests in testdata/yaml, written after kamu's examples, read as
// these values, print as their .golden files (go test -update rewrites
// them) and read back from those unchanged.
func TestSnapshotManifests(t *testing.T) {
	utc := ptr("UTC")
	cases := map[string][]*DatasetSnapshot{
		"url-csv-ledger.yaml": {{
			Name: "org.example.fx-rates.daily",
			Kind: DatasetKindRoot,
			Metadata: []MetadataEvent{
				SetPollingSource{
					Fetch: FetchStepURL{
						URL:       "https://example.org/fx/daily.csv?from=2017-01-03",
						EventTime: EventTimeSourceFromMetadata{},
						Headers:   []RequestHeader{{Name: "Accept", Value: "text/csv"}},
					},
					Prepare: []PrepStep{PrepStepPipe{Command: []string{"sed", "-e", "1,/DATA/d"}}},
					Read: ReadStepCsv{
						Header:    ptr(true),
						Separator: ptr(","),
						NullValue: ptr(""),
						Schema: &DataSchema{Fields: []DataField{
							{Name: "date", Type: DataTypeTimestamp{}},
							{Name: "usd_eur", Type: DataTypeFloat64{}},
							{Name: "usd_gbp", Type: DataTypeFloat64{}},
						}},
					},
					Merge: MergeStrategyLedger{PrimaryKey: []string{"date"}},
				},
				SetVocab{EventTimeColumn: ptr("date")},
			},
		}},
		"filesglob-snapshot.yaml": {{
			Name: "org.example.schools",
			Kind: DatasetKindRoot,
			Metadata: []MetadataEvent{SetPollingSource{
				Fetch: FetchStepFilesGlob{
					Path:      "/data/schools/*.csv.gz",
					EventTime: EventTimeSourceFromPath{Pattern: `schools-(\d{4}-\d{2}-\d{2})\.csv\.gz`, TimestampFormat: ptr("%Y-%m-%d")},
					Order:     ptr(SourceOrderingByName),
				},
				Prepare: []PrepStep{PrepStepDecompress{Format: CompressionGzip}},
				Read: ReadStepCsv{
					Header: ptr(true), Separator: ptr(";"), Quote: ptr(`"`), Escape: ptr(`"`),
					Schema: &DataSchema{Fields: []DataField{
						{Name: "school_id", Type: DataTypeInt64{}},
						{Name: "school_name", Type: DataTypeString{}},
						{Name: "opened", Type: DataTypeDate{}},
						{Name: "updated_at", Type: DataTypeTimestamp{}},
						{Name: "capacity", Type: DataTypeUInt32{}},
					}},
				},
				Preprocess: TransformSQL{Engine: "datafusion", Query: ptr(
					"SELECT school_id, trim(school_name) AS school_name, opened, updated_at, capacity\nFROM input\n")},
				Merge: MergeStrategySnapshot{PrimaryKey: []string{"school_id"}, CompareColumns: []string{"school_name", "capacity"}},
			}},
		}},
		"push-ndjson.yaml": {{
			Name: "player-scores",
			Kind: DatasetKindRoot,
			Metadata: []MetadataEvent{
				AddPushSource{
					SourceName: "default",
					Read: ReadStepNdJSON{
						TimestampFormat: ptr("%Y-%m-%dT%H:%M:%S%.fZ"),
						Schema: &DataSchema{Fields: []DataField{
							{Name: "match_time", Type: DataTypeTimestamp{Unit: ptr(TimeUnitMillisecond), Timezone: utc}},
							{Name: "match_id", Type: DataTypeInt64{}},
							{Name: "player_id", Type: DataTypeString{}},
							{Name: "score", Type: DataTypeOption{Inner: DataTypeInt32{}}},
						}},
					},
					Merge: MergeStrategyAppend{},
				},
				SetVocab{EventTimeColumn: ptr("match_time")},
			},
		}},
		"derivative-queries.yaml": {{
			Name: "org.example.orders.late",
			Kind: DatasetKindDerivative,
			Metadata: []MetadataEvent{
				SetTransform{
					Inputs: []TransformInput{
						{DatasetRef: "org.example.orders"},
						{DatasetRef: seededInput1, Alias: ptr("deliveries")},
					},
					Transform: TransformSQL{
						Engine:  "datafusion",
						Version: ptr("46"),
						Queries: []SqlQueryStep{
							{Alias: ptr("joined"), Query: "SELECT o.event_time AS order_time, o.order_id, d.event_time AS delivered_time\n" +
								"FROM `org.example.orders` AS o\nLEFT JOIN deliveries AS d ON o.order_id = d.order_id\n"},
							{Alias: ptr("late"), Query: "SELECT * FROM joined WHERE delivered_time IS NULL OR delivered_time > order_time + INTERVAL '2' DAY"},
							{Query: "SELECT order_time, order_id FROM late"},
						},
					},
				},
				SetVocab{EventTimeColumn: ptr("order_time")},
			},
		}},
		"info-license-attachments.yaml": {{
			Name: "org.example.weather",
			Kind: DatasetKindRoot,
			Metadata: []MetadataEvent{
				SetPollingSource{
					Fetch: FetchStepURL{URL: "https://example.org/weather.parquet", Cache: SourceCachingForever{}},
					Read:  ReadStepParquet{},
					Merge: MergeStrategyLedger{PrimaryKey: []string{"station", "time"}},
				},
				SetInfo{Description: ptr("Hourly observations from automatic weather stations."), Keywords: []string{"weather", "climate", "hourly"}},
				SetLicense{ShortName: "CC-BY-4.0", Name: ptr("Creative Commons Attribution 4.0 International"),
					SpdxID: ptr("CC-BY-4.0"), WebsiteURL: ptr("https://creativecommons.org/licenses/by/4.0/")},
				SetAttachments{Attachments: AttachmentsEmbedded{Items: []AttachmentEmbedded{
					{Path: "README.md", Content: "# Weather\n\nOne row per station and hour.\n"},
					{Path: "empty.txt", Content: ""},
				}}},
			},
		}},
		"multi.yaml": {
			{Name: "first", Kind: DatasetKindRoot, Metadata: []MetadataEvent{AddPushSource{
				SourceName: "default",
				Read:       ReadStepJSON{SubPath: ptr("items")},
				Merge:      MergeStrategyUpsertStream{PrimaryKey: []string{"id"}},
			}}},
			{Name: "second", Kind: DatasetKindDerivative, Metadata: []MetadataEvent{SetTransform{
				Inputs:    []TransformInput{{DatasetRef: "first"}},
				Transform: TransformSQL{Engine: "datafusion", Query: ptr("SELECT * FROM first")},
			}}},
		},
	}
	for file, want := range cases {
		t.Run(file, func(t *testing.T) {
			got, err := ParseSnapshots(file, readTestdata(t, file))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("read\n got %#v\nwant %#v", got, want)
			}
			var printed []byte
			for i, s := range got {
				text, err := MarshalSnapshotYAML(s)
				if err != nil {
					t.Fatal(err)
				}
				if i > 0 {
					printed = append(printed, "---\n"...)
				}
				printed = append(printed, text...)
			}
			golden := filepath.Join("testdata", "yaml", strings.TrimSuffix(file, ".yaml")+".golden")
			if *update {
				if err := os.WriteFile(golden, printed, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			wantPrinted, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(printed, wantPrinted) {
				t.Fatalf("printed\n%s\ngolden (%s)\n%s", printed, golden, wantPrinted)
			}
			again, err := ParseSnapshots(golden, printed)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(again, want) {
				t.Fatalf("read back\n got %#v\nwant %#v", again, want)
			}
		})
	}
}

func TestBadDocuments(t *testing.T) {
	for _, c := range errorCases(t) {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.block {
				_, err = UnmarshalBlockYAML(c.input)
			} else {
				_, err = ParseSnapshots("bad.yaml", c.input)
			}
			if err == nil {
				t.Fatal("accepted")
			}
			var ye *YAMLError
			if !errors.As(err, &ye) {
				t.Fatalf("%T is not a *YAMLError: %v", err, err)
			}
			for _, want := range c.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error\n  %v\ndoes not contain\n  %s", err, want)
				}
			}
		})
	}
}

type errorCase struct {
	name  string
	block bool
	input []byte
	want  []string
}

// errorCases reads testdata/yaml/errors.txtar: sections "-- NAME.snapshot --"
// or "-- NAME.block --" holding a document, then "-- NAME.err --" holding
// the strings its error must contain, one a line.
func errorCases(t testing.TB) []errorCase {
	var cases []errorCase
	var cur *errorCase
	inErr := false
	for _, line := range strings.SplitAfter(string(readTestdata(t, "errors.txtar")), "\n") {
		if name, ok := strings.CutPrefix(strings.TrimSuffix(line, "\n"), "-- "); ok && strings.HasSuffix(name, " --") {
			name = strings.TrimSuffix(name, " --")
			base, ext, _ := strings.Cut(name, ".")
			switch ext {
			case "snapshot", "block":
				cases = append(cases, errorCase{name: base, block: ext == "block", input: []byte{}})
				cur, inErr = &cases[len(cases)-1], false
			case "err":
				if cur == nil || cur.name != base {
					t.Fatalf("errors.txtar: %s does not follow its document", name)
				}
				inErr = true
			default:
				t.Fatalf("errors.txtar: bad section %q", name)
			}
			continue
		}
		switch {
		case cur == nil:
		case inErr:
			if s := strings.TrimSpace(line); s != "" {
				cur.want = append(cur.want, s)
			}
		default:
			cur.input = append(cur.input, line...)
		}
	}
	for _, c := range cases {
		if len(c.want) == 0 {
			t.Fatalf("errors.txtar: %s has no expected error", c.name)
		}
	}
	return cases
}

func TestYAMLErrorFields(t *testing.T) {
	_, err := ParseSnapshots("x.yaml", []byte("kind: DatasetSnapshot\nversion: 1\ncontent:\n  name: x\n  kind: Root\n  metadata:\n  - kind: SetInfo\n    keywords: {a: b}\n"))
	var ye *YAMLError
	if !errors.As(err, &ye) {
		t.Fatalf("got %v", err)
	}
	want := YAMLError{Source: "x.yaml", Document: 1, Line: 8, Column: 15, Path: "content.metadata[0].keywords", Msg: "expected a sequence, got a mapping"}
	if *ye != want {
		t.Fatalf("got %+v, want %+v", *ye, want)
	}
	if got := ye.Error(); got != "x.yaml: line 8: content.metadata[0].keywords: expected a sequence, got a mapping" {
		t.Fatalf("Error() = %q", got)
	}
}

func TestEventYAML(t *testing.T) {
	for _, c := range goldenCases(t) {
		text, err := MarshalEventYAML(c.event)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(text), "kind: "+EventName(c.event)+"\n") {
			t.Fatalf("%s: kind is not first:\n%s", c.name, text)
		}
		got, err := UnmarshalEventYAML(text)
		if err != nil {
			t.Fatalf("%s: %v\n%s", c.name, err, text)
		}
		if !reflect.DeepEqual(normalised(&got), normalised(&c.event)) {
			t.Fatalf("%s: got %#v, want %#v", c.name, got, c.event)
		}
	}
	// kamu's envelope form.
	got, err := UnmarshalEventYAML([]byte("kind: MetadataEvent\nversion: 1\ncontent:\n  kind: SetVocab\n  eventTimeColumn: t\n"))
	if err != nil || !reflect.DeepEqual(got, MetadataEvent(SetVocab{EventTimeColumn: ptr("t")})) {
		t.Fatalf("envelope: got %#v, %v", got, err)
	}
}

// Values that need care in YAML print in a form that reads back the same.
func TestAwkwardValuesRoundTrip(t *testing.T) {
	strs := []string{
		"", " ", "true", "null", "~", "10", "1.5", "0x10", "2020-01-01", "yes", "a: b", "- x", "#x", "x #y",
		"'", `"`, "\\", "\n", "\n\n", "a\n", "a\nb", " lead\nx", "trail \nx", "x\n\n", "\ta", "a\tb\nc",
		"\r", "a\r\nb", "\x00", "\x7f", "\u0085", "\u2028", "\u2029", "\ufeff", "é", "日本", "---", "...",
		"a\n---\nb", "a\n...\nb", "<<", "*x", "&x", "!x", "%x", "@x", "`x", "{x}", "[x]", ",", "?", ":",
		strings.Repeat("k", 200), strings.Repeat("long line ", 50),
	}
	for _, s := range strs {
		ev := SetInfo{Description: ptr(s), Keywords: []string{s}}
		text, err := MarshalEventYAML(ev)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		got, err := UnmarshalEventYAML(text)
		if err != nil {
			t.Fatalf("%q: %v\n%s", s, err, text)
		}
		if !reflect.DeepEqual(got, MetadataEvent(ev)) {
			t.Fatalf("%q: read back %#v\n%s", s, got, text)
		}
		// As an extra-attribute key, which may not be an implicit key.
		x := AddData{Extra: ExtraAttributes{s: map[string]any{s: []any{s}}}}
		text, err = MarshalEventYAML(x)
		if err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		back, err := UnmarshalEventYAML(text)
		if err != nil {
			t.Fatalf("extra key %q: %v\n%s", s, err, text)
		}
		if !reflect.DeepEqual(back, MetadataEvent(x)) {
			t.Fatalf("extra key %q: read back %#v\n%s", s, back, text)
		}
	}

	// Timestamps keep their nanoseconds and print in UTC with 0, 3, 6 or 9
	// fractional digits.
	for _, c := range []struct {
		t    time.Time
		want string
	}{
		{time.Date(2020, 1, 1, 12, 0, 0, 0, time.UTC), "2020-01-01T12:00:00Z"},
		{time.Date(2020, 1, 1, 12, 0, 0, 5e8, time.UTC), "2020-01-01T12:00:00.500Z"},
		{time.Date(2020, 1, 1, 12, 0, 0, 1500, time.UTC), "2020-01-01T12:00:00.000001500Z"},
		{time.Date(2020, 1, 1, 12, 0, 0, 1000, time.UTC), "2020-01-01T12:00:00.000001Z"},
		{time.Date(2020, 1, 1, 14, 0, 0, 0, time.FixedZone("", 2*3600)), "2020-01-01T12:00:00Z"},
	} {
		b := &MetadataBlock{SystemTime: c.t, Event: DisablePollingSource{}}
		text, err := MarshalBlockYAML(b)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(text), "systemTime: "+c.want+"\n") {
			t.Fatalf("%v printed as\n%s", c.t, text)
		}
		back, err := UnmarshalBlockYAML(text)
		if err != nil {
			t.Fatal(err)
		}
		if !back.SystemTime.Equal(c.t) || back.SystemTime.Location() != time.UTC {
			t.Fatalf("%v read back as %v", c.t, back.SystemTime)
		}
	}

	// Other ways to write the same values.
	id := mustDatasetID(t, seededInput1)
	b, err := UnmarshalBlockYAML([]byte(`kind: MetadataBlock
version: 2
content:
  systemTime: 2020-01-01T14:00:00.25+02:00
  prevBlockHash: u` + base64.RawURLEncoding.EncodeToString(sha3mh("prev")) + `
  sequenceNumber: 0x10
  event:
    kind: seed
    datasetId: ` + id.DIDKey() + `
    datasetKind: derivative
`))
	if err != nil {
		t.Fatal(err)
	}
	want := &MetadataBlock{
		SystemTime:     time.Date(2020, 1, 1, 12, 0, 0, 25e7, time.UTC),
		PrevBlockHash:  sha3mh("prev"),
		SequenceNumber: 16,
		Event:          Seed{DatasetID: id, DatasetKind: DatasetKindDerivative},
	}
	if !reflect.DeepEqual(b, want) {
		t.Fatalf("got %#v\nwant %#v", b, want)
	}
}

// Optional slices and maps: absent stays nil, present-but-empty stays
// empty; required slices always print.
func TestEmptyAndAbsent(t *testing.T) {
	for _, ev := range []MetadataEvent{
		SetInfo{},
		SetInfo{Keywords: []string{}},
		AddData{Extra: ExtraAttributes{}},
		SetPollingSource{Fetch: FetchStepURL{URL: "u", Headers: []RequestHeader{}}, Prepare: []PrepStep{}, Read: ReadStepCsv{DDLSchema: []string{}}, Merge: MergeStrategyLedger{PrimaryKey: []string{}}},
		SetDataSchema{RawArrowSchema: []byte{}},
	} {
		text, err := MarshalEventYAML(ev)
		if err != nil {
			t.Fatal(err)
		}
		got, err := UnmarshalEventYAML(text)
		if err != nil {
			t.Fatalf("%v\n%s", err, text)
		}
		if !reflect.DeepEqual(got, ev) {
			t.Fatalf("got %#v\nwant %#v\n%s", got, ev, text)
		}
	}
	text, err := MarshalEventYAML(SetTransform{Transform: TransformSQL{Engine: "e"}})
	if err != nil {
		t.Fatal(err)
	}
	if want := "kind: SetTransform\ninputs: []\ntransform:\n  kind: Sql\n  engine: e\n"; string(text) != want {
		t.Fatalf("got\n%s\nwant\n%s", text, want)
	}
}

func TestMarshalRefusesUnprintable(t *testing.T) {
	for name, ev := range map[string]MetadataEvent{
		"invalid UTF-8":  SetInfo{Description: ptr("\xff")},
		"NaN extra":      AddData{Extra: ExtraAttributes{"x": nanValue()}},
		"year 10000":     AddData{NewWatermark: ptr(time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC))},
		"enum range":     Seed{DatasetKind: 7},
		"nil in union":   SetPollingSource{Prepare: []PrepStep{nil}},
		"pointer member": SetAttachments{Attachments: &AttachmentsEmbedded{}},
	} {
		if _, err := MarshalEventYAML(ev); err == nil {
			t.Errorf("%s: printed", name)
		}
	}
}

func nanValue() float64 { zero := 0.0; return zero / zero }

// Helpers for the vector tables.

func parseOneSnapshot(data []byte) (any, error) {
	s, err := ParseSnapshots("test", data)
	if err != nil {
		return nil, err
	}
	if len(s) != 1 {
		return nil, errors.New("want one snapshot")
	}
	return s[0], nil
}

func decodeBlockAny(data []byte) (any, error) { return UnmarshalBlockYAML(data) }

func decodeAs[T any](data []byte) (T, error) {
	var v T
	err := unmarshalYAMLValue(data, &v)
	return v, err
}

func asAny[T any](data []byte) (any, error) { return decodeAs[T](data) }

func marshalAny(v any) ([]byte, error) {
	switch v := v.(type) {
	case *DatasetSnapshot:
		return MarshalSnapshotYAML(v)
	case *MetadataBlock:
		return MarshalBlockYAML(v)
	case FetchStep:
		return marshalYAMLValue(&v)
	case Transform:
		return marshalYAMLValue(&v)
	case ReadStep:
		return marshalYAMLValue(&v)
	}
	p := reflect.New(reflect.TypeOf(v))
	p.Elem().Set(reflect.ValueOf(v))
	return marshalYAMLValue(p.Interface())
}

func mustBase64(t testing.TB, s string) []byte {
	t.Helper()
	var b []byte
	if err := unmarshalYAMLValue([]byte(s), &b); err != nil {
		t.Fatal(err)
	}
	return b
}

// TestPlainSafeAgreesWithYAML checks the printer's fast path against
// yaml.v3 itself: every string it calls plain-safe reads back unchanged.
func TestPlainSafeAgreesWithYAML(t *testing.T) {
	for _, s := range []string{
		"description", "SetInfo", "f1620abc", "did:odf:fed01ab", "a-b_c.d/e", "Yes", "yes", "NULL", "on", "y",
		"a: b", "a:", "1abc", "-a", ".inf", "true", "x#y", "ab c", "", "N", "nan", "Infinity", "e5",
	} {
		if !isPlainSafe(s) {
			continue
		}
		var v any
		if err := yaml.Unmarshal([]byte("k: "+s+"\n"), &v); err != nil {
			t.Fatalf("%q: %v", s, err)
		}
		if got, ok := v.(map[string]any)["k"].(string); !ok || got != s {
			t.Fatalf("%q is not plain-safe: reads back as %#v", s, v.(map[string]any)["k"])
		}
	}
}
