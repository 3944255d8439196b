package odf

import "time"

// This file is the ODF metadata model (spec 0.39, kamu manifest version 3),
// written from the published FlatBuffers schema. Each field carries two tags:
//
//	fb:"N[,opt]"  the FlatBuffers vtable slot. A union takes two slots, its
//	              type at N and its value at N+1. Pointers and fields marked
//	              opt are optional (absent when nil); other fields are
//	              required and always written, scalars except when they
//	              equal their zero default, as FlatBuffers builders do. The
//	              binary codec writes a nil union as absent either way; the
//	              YAML codec refuses a missing required one.
//	yaml:"name"   the camelCase key in YAML and JSON.
//
// Field order is schema order, which is also serialisation order: the
// codec depends on it for byte-identical blocks.

// DatasetKind says whether a dataset ingests from outside or derives.
type DatasetKind int32

const (
	DatasetKindRoot DatasetKind = iota
	DatasetKindDerivative
)

// CompressionFormat is a Decompress prepare step's archive format.
type CompressionFormat int32

const (
	CompressionGzip CompressionFormat = iota
	CompressionZip
)

// SourceOrdering orders the files matched by a FilesGlob fetch.
type SourceOrdering int32

const (
	SourceOrderingByEventTime SourceOrdering = iota
	SourceOrderingByName
)

// MqttQos is an MQTT quality-of-service class.
type MqttQos int32

const (
	MqttQosAtMostOnce MqttQos = iota
	MqttQosAtLeastOnce
	MqttQosExactlyOnce
)

// TimeUnit is the unit of a Duration, Time or Timestamp data type.
type TimeUnit int16

const (
	TimeUnitSecond TimeUnit = iota
	TimeUnitMillisecond
	TimeUnitMicrosecond
	TimeUnitNanosecond
)

// OperationType is the value of the op system column.
type OperationType uint8

const (
	OpAppend      OperationType = 0 // +A
	OpRetract     OperationType = 1 // -R
	OpCorrectFrom OperationType = 2 // -C
	OpCorrectTo   OperationType = 3 // +C
)

// ExtraAttributes are extension attributes keyed "<domain>/<path>", stored
// in FlatBuffers as one compact JSON object with sorted keys.
type ExtraAttributes map[string]any

// ---- Blocks ----------------------------------------------------------------

// MetadataBlock is one link of a dataset's metadata chain.
type MetadataBlock struct {
	SystemTime     time.Time     `fb:"0" yaml:"systemTime"`
	PrevBlockHash  Multihash     `fb:"1,opt" yaml:"prevBlockHash"`
	SequenceNumber uint64        `fb:"2" yaml:"sequenceNumber"`
	Event          MetadataEvent `fb:"3" yaml:"event"`
}

// MetadataEvent is the union of the 13 event types; member order is the
// FlatBuffers union tag order and part of the wire format.
type MetadataEvent interface{ isMetadataEvent() }

// OffsetInterval is a closed interval [Start, End] of record offsets.
type OffsetInterval struct {
	Start uint64 `fb:"0" yaml:"start"`
	End   uint64 `fb:"1" yaml:"end"`
}

// DataSlice describes one data file added by a transaction.
type DataSlice struct {
	LogicalHash    Multihash      `fb:"0" yaml:"logicalHash"`
	PhysicalHash   Multihash      `fb:"1" yaml:"physicalHash"`
	OffsetInterval OffsetInterval `fb:"2" yaml:"offsetInterval"`
	Size           uint64         `fb:"3" yaml:"size"`
}

// Checkpoint describes an engine or ingest checkpoint file.
type Checkpoint struct {
	PhysicalHash Multihash `fb:"0" yaml:"physicalHash"`
	Size         uint64    `fb:"1" yaml:"size"`
}

// SourceState lets a source resume where it stopped (ETag, Last-Modified …).
type SourceState struct {
	SourceName string `fb:"0" yaml:"sourceName"`
	Kind       string `fb:"1" yaml:"kind"`
	Value      string `fb:"2" yaml:"value"`
}

// AddData records data ingested into a root dataset.
type AddData struct {
	PrevCheckpoint Multihash       `fb:"0,opt" yaml:"prevCheckpoint"`
	PrevOffset     *uint64         `fb:"1" yaml:"prevOffset"`
	NewData        *DataSlice      `fb:"2" yaml:"newData"`
	NewCheckpoint  *Checkpoint     `fb:"3" yaml:"newCheckpoint"`
	NewWatermark   *time.Time      `fb:"4" yaml:"newWatermark"`
	NewSourceState *SourceState    `fb:"5" yaml:"newSourceState"`
	Extra          ExtraAttributes `fb:"6,opt" yaml:"extra"`
}

// ExecuteTransformInput is the slice of one input a transform consumed:
// the half-open block interval (PrevBlockHash, NewBlockHash] and offset
// interval (PrevOffset, NewOffset].
type ExecuteTransformInput struct {
	DatasetID     DatasetID `fb:"0" yaml:"datasetId"`
	PrevBlockHash Multihash `fb:"1,opt" yaml:"prevBlockHash"`
	NewBlockHash  Multihash `fb:"2,opt" yaml:"newBlockHash"`
	PrevOffset    *uint64   `fb:"3" yaml:"prevOffset"`
	NewOffset     *uint64   `fb:"4" yaml:"newOffset"`
}

// ExecuteTransform records one run of a derivative dataset's transform.
type ExecuteTransform struct {
	QueryInputs    []ExecuteTransformInput `fb:"0" yaml:"queryInputs"`
	PrevCheckpoint Multihash               `fb:"1,opt" yaml:"prevCheckpoint"`
	PrevOffset     *uint64                 `fb:"2" yaml:"prevOffset"`
	NewData        *DataSlice              `fb:"3" yaml:"newData"`
	NewCheckpoint  *Checkpoint             `fb:"4" yaml:"newCheckpoint"`
	NewWatermark   *time.Time              `fb:"5" yaml:"newWatermark"`
}

// Seed establishes a dataset's identity; it is always the first block.
type Seed struct {
	DatasetID   DatasetID   `fb:"0" yaml:"datasetId"`
	DatasetKind DatasetKind `fb:"1" yaml:"datasetKind"`
}

// SetPollingSource says how a root dataset fetches, reads and merges data.
type SetPollingSource struct {
	Fetch      FetchStep     `fb:"0" yaml:"fetch"`
	Prepare    []PrepStep    `fb:"2,opt" yaml:"prepare"`
	Read       ReadStep      `fb:"3" yaml:"read"`
	Preprocess Transform     `fb:"5,opt" yaml:"preprocess"`
	Merge      MergeStrategy `fb:"7" yaml:"merge"`
}

// TransformInput names one input of a derivative dataset.
type TransformInput struct {
	DatasetRef string  `fb:"0" yaml:"datasetRef"`
	Alias      *string `fb:"1" yaml:"alias"`
}

// SetTransform defines a derivative dataset's transformation.
type SetTransform struct {
	Inputs    []TransformInput `fb:"0" yaml:"inputs"`
	Transform Transform        `fb:"1" yaml:"transform"`
}

// SetVocab renames the system columns.
type SetVocab struct {
	OffsetColumn        *string `fb:"0" yaml:"offsetColumn"`
	OperationTypeColumn *string `fb:"1" yaml:"operationTypeColumn"`
	SystemTimeColumn    *string `fb:"2" yaml:"systemTimeColumn"`
	EventTimeColumn     *string `fb:"3" yaml:"eventTimeColumn"`
}

// AttachmentEmbedded is one inline attachment.
type AttachmentEmbedded struct {
	Path    string `fb:"0" yaml:"path"`
	Content string `fb:"1" yaml:"content"`
}

// SetAttachments associates files (a README …) with the dataset.
type SetAttachments struct {
	Attachments Attachments `fb:"0" yaml:"attachments"`
}

// SetInfo is a dataset's human-readable description.
type SetInfo struct {
	Description *string  `fb:"0" yaml:"description"`
	Keywords    []string `fb:"1,opt" yaml:"keywords"`
}

// SetLicense is the license that applies to a dataset.
type SetLicense struct {
	ShortName  string  `fb:"0" yaml:"shortName"`
	Name       *string `fb:"1" yaml:"name"`
	SpdxID     *string `fb:"2" yaml:"spdxId"`
	WebsiteURL *string `fb:"3" yaml:"websiteUrl"`
}

// SetDataSchema is the schema of the data slices that follow it.
type SetDataSchema struct {
	RawArrowSchema []byte      `fb:"0,opt" yaml:"rawArrowSchema"`
	Schema         *DataSchema `fb:"1" yaml:"schema"`
}

// AddPushSource declares a named source that data is pushed into.
type AddPushSource struct {
	SourceName string        `fb:"0" yaml:"sourceName"`
	Read       ReadStep      `fb:"1" yaml:"read"`
	Preprocess Transform     `fb:"3,opt" yaml:"preprocess"`
	Merge      MergeStrategy `fb:"5" yaml:"merge"`
}

// DisablePushSource disables a push source (kamu refuses to append it).
type DisablePushSource struct {
	SourceName string `fb:"0" yaml:"sourceName"`
}

// DisablePollingSource disables the polling source (kamu refuses to append it).
type DisablePollingSource struct{}

func (AddData) isMetadataEvent()              {}
func (ExecuteTransform) isMetadataEvent()     {}
func (Seed) isMetadataEvent()                 {}
func (SetPollingSource) isMetadataEvent()     {}
func (SetTransform) isMetadataEvent()         {}
func (SetVocab) isMetadataEvent()             {}
func (SetAttachments) isMetadataEvent()       {}
func (SetInfo) isMetadataEvent()              {}
func (SetLicense) isMetadataEvent()           {}
func (SetDataSchema) isMetadataEvent()        {}
func (AddPushSource) isMetadataEvent()        {}
func (DisablePushSource) isMetadataEvent()    {}
func (DisablePollingSource) isMetadataEvent() {}

// ---- Sources -----------------------------------------------------------------

// FetchStep is where a polling source gets its data.
type FetchStep interface{ isFetchStep() }

// EventTimeSource says where a fetched file's event time comes from.
type EventTimeSource interface{ isEventTimeSource() }

// EventTimeSourceFromMetadata takes event time from the source's metadata
// (for example HTTP Last-Modified).
type EventTimeSourceFromMetadata struct{}

// EventTimeSourceFromPath extracts event time from the file path.
type EventTimeSourceFromPath struct {
	Pattern         string  `fb:"0" yaml:"pattern"`
	TimestampFormat *string `fb:"1" yaml:"timestampFormat"`
}

// EventTimeSourceFromSystemTime uses the system time as event time.
type EventTimeSourceFromSystemTime struct{}

func (EventTimeSourceFromMetadata) isEventTimeSource()   {}
func (EventTimeSourceFromPath) isEventTimeSource()       {}
func (EventTimeSourceFromSystemTime) isEventTimeSource() {}

// SourceCaching says how fetched data is cached.
type SourceCaching interface{ isSourceCaching() }

// SourceCachingForever ingests a source once and never again.
type SourceCachingForever struct{}

func (SourceCachingForever) isSourceCaching() {}

// RequestHeader is a header passed with a fetch request.
type RequestHeader struct {
	Name  string `fb:"0" yaml:"name"`
	Value string `fb:"1" yaml:"value"`
}

// FetchStepURL fetches one URL.
type FetchStepURL struct {
	URL       string          `fb:"0" yaml:"url"`
	EventTime EventTimeSource `fb:"1,opt" yaml:"eventTime"`
	Cache     SourceCaching   `fb:"3,opt" yaml:"cache"`
	Headers   []RequestHeader `fb:"5,opt" yaml:"headers"`
}

// FetchStepFilesGlob fetches local files matching a glob.
type FetchStepFilesGlob struct {
	Path      string          `fb:"0" yaml:"path"`
	EventTime EventTimeSource `fb:"1,opt" yaml:"eventTime"`
	Cache     SourceCaching   `fb:"3,opt" yaml:"cache"`
	Order     *SourceOrdering `fb:"5" yaml:"order"`
}

// EnvVar is an environment variable for a container fetch.
type EnvVar struct {
	Name  string  `fb:"0" yaml:"name"`
	Value *string `fb:"1" yaml:"value"`
}

// FetchStepContainer runs an OCI container to fetch data (not supported by IPOS).
type FetchStepContainer struct {
	Image   string   `fb:"0" yaml:"image"`
	Command []string `fb:"1,opt" yaml:"command"`
	Args    []string `fb:"2,opt" yaml:"args"`
	Env     []EnvVar `fb:"3,opt" yaml:"env"`
}

// MqttTopicSubscription is one MQTT subscription.
type MqttTopicSubscription struct {
	Path string   `fb:"0" yaml:"path"`
	Qos  *MqttQos `fb:"1" yaml:"qos"`
}

// FetchStepMqtt subscribes to an MQTT broker (not supported by IPOS).
type FetchStepMqtt struct {
	Host     string                  `fb:"0" yaml:"host"`
	Port     int32                   `fb:"1" yaml:"port"`
	Username *string                 `fb:"2" yaml:"username"`
	Password *string                 `fb:"3" yaml:"password"`
	Topics   []MqttTopicSubscription `fb:"4" yaml:"topics"`
}

// FetchStepEthereumLogs streams Ethereum logs (not supported by IPOS).
type FetchStepEthereumLogs struct {
	ChainID   *uint64 `fb:"0" yaml:"chainId"`
	NodeURL   *string `fb:"1" yaml:"nodeUrl"`
	Filter    *string `fb:"2" yaml:"filter"`
	Signature *string `fb:"3" yaml:"signature"`
}

func (FetchStepURL) isFetchStep()          {}
func (FetchStepFilesGlob) isFetchStep()    {}
func (FetchStepContainer) isFetchStep()    {}
func (FetchStepMqtt) isFetchStep()         {}
func (FetchStepEthereumLogs) isFetchStep() {}

// PrepStep prepares fetched bytes before reading.
type PrepStep interface{ isPrepStep() }

// PrepStepDecompress decompresses gzip or zip.
type PrepStepDecompress struct {
	Format  CompressionFormat `fb:"0" yaml:"format"`
	SubPath *string           `fb:"1" yaml:"subPath"`
}

// PrepStepPipe pipes the data through a command.
type PrepStepPipe struct {
	Command []string `fb:"0" yaml:"command"`
}

func (PrepStepDecompress) isPrepStep() {}
func (PrepStepPipe) isPrepStep()       {}

// ReadStep turns prepared bytes into rows.
type ReadStep interface{ isReadStep() }

// ReadStepCsv reads CSV.
type ReadStepCsv struct {
	DDLSchema       []string    `fb:"0,opt" yaml:"ddlSchema"`
	Separator       *string     `fb:"1" yaml:"separator"`
	Encoding        *string     `fb:"2" yaml:"encoding"`
	Quote           *string     `fb:"3" yaml:"quote"`
	Escape          *string     `fb:"4" yaml:"escape"`
	Header          *bool       `fb:"5" yaml:"header"`
	InferSchema     *bool       `fb:"6" yaml:"inferSchema"`
	NullValue       *string     `fb:"7" yaml:"nullValue"`
	DateFormat      *string     `fb:"8" yaml:"dateFormat"`
	TimestampFormat *string     `fb:"9" yaml:"timestampFormat"`
	Schema          *DataSchema `fb:"10" yaml:"schema"`
}

// ReadStepGeoJSON reads a GeoJSON FeatureCollection, a row per feature.
type ReadStepGeoJSON struct {
	DDLSchema []string    `fb:"0,opt" yaml:"ddlSchema"`
	Schema    *DataSchema `fb:"1" yaml:"schema"`
}

// ReadStepEsriShapefile reads an ESRI shapefile.
type ReadStepEsriShapefile struct {
	DDLSchema []string    `fb:"0,opt" yaml:"ddlSchema"`
	SubPath   *string     `fb:"1" yaml:"subPath"`
	Schema    *DataSchema `fb:"2" yaml:"schema"`
}

// ReadStepParquet reads Parquet.
type ReadStepParquet struct {
	DDLSchema []string    `fb:"0,opt" yaml:"ddlSchema"`
	Schema    *DataSchema `fb:"1" yaml:"schema"`
}

// ReadStepJSON reads a JSON array of objects, optionally under SubPath.
type ReadStepJSON struct {
	SubPath         *string     `fb:"0" yaml:"subPath"`
	DDLSchema       []string    `fb:"1,opt" yaml:"ddlSchema"`
	DateFormat      *string     `fb:"2" yaml:"dateFormat"`
	Encoding        *string     `fb:"3" yaml:"encoding"`
	TimestampFormat *string     `fb:"4" yaml:"timestampFormat"`
	Schema          *DataSchema `fb:"5" yaml:"schema"`
}

// ReadStepNdJSON reads newline-delimited JSON.
type ReadStepNdJSON struct {
	DDLSchema       []string    `fb:"0,opt" yaml:"ddlSchema"`
	DateFormat      *string     `fb:"1" yaml:"dateFormat"`
	Encoding        *string     `fb:"2" yaml:"encoding"`
	TimestampFormat *string     `fb:"3" yaml:"timestampFormat"`
	Schema          *DataSchema `fb:"4" yaml:"schema"`
}

// ReadStepNdGeoJSON reads newline-delimited GeoJSON features.
type ReadStepNdGeoJSON struct {
	DDLSchema []string    `fb:"0,opt" yaml:"ddlSchema"`
	Schema    *DataSchema `fb:"1" yaml:"schema"`
}

func (ReadStepCsv) isReadStep()           {}
func (ReadStepGeoJSON) isReadStep()       {}
func (ReadStepEsriShapefile) isReadStep() {}
func (ReadStepParquet) isReadStep()       {}
func (ReadStepJSON) isReadStep()          {}
func (ReadStepNdJSON) isReadStep()        {}
func (ReadStepNdGeoJSON) isReadStep()     {}

// Transform is an engine-specific query.
type Transform interface{ isTransform() }

// SqlQueryStep is one step of a multi-step SQL transform; the step without
// an alias is the output.
type SqlQueryStep struct {
	Alias *string `fb:"0" yaml:"alias"`
	Query string  `fb:"1" yaml:"query"`
}

// TemporalTable is Flink's temporal-table extension, kept for compatibility.
type TemporalTable struct {
	Name       string   `fb:"0" yaml:"name"`
	PrimaryKey []string `fb:"1" yaml:"primaryKey"`
}

// TransformSQL is a transform in an SQL dialect.
type TransformSQL struct {
	Engine         string          `fb:"0" yaml:"engine"`
	Version        *string         `fb:"1" yaml:"version"`
	Query          *string         `fb:"2" yaml:"query"`
	Queries        []SqlQueryStep  `fb:"3,opt" yaml:"queries"`
	TemporalTables []TemporalTable `fb:"4,opt" yaml:"temporalTables"`
}

func (TransformSQL) isTransform() {}

// MergeStrategy combines new data with a dataset's history.
type MergeStrategy interface{ isMergeStrategy() }

// MergeStrategyAppend appends every new row.
type MergeStrategyAppend struct{}

// MergeStrategyLedger appends rows whose primary key was never seen.
type MergeStrategyLedger struct {
	PrimaryKey []string `fb:"0" yaml:"primaryKey"`
}

// MergeStrategySnapshot diffs a full snapshot against the current state.
type MergeStrategySnapshot struct {
	PrimaryKey     []string `fb:"0" yaml:"primaryKey"`
	CompareColumns []string `fb:"1,opt" yaml:"compareColumns"`
}

// MergeStrategyChangelogStream takes input that already carries op codes.
type MergeStrategyChangelogStream struct {
	PrimaryKey []string `fb:"0" yaml:"primaryKey"`
}

// MergeStrategyUpsertStream re-classifies insert-or-update rows.
type MergeStrategyUpsertStream struct {
	PrimaryKey []string `fb:"0" yaml:"primaryKey"`
}

func (MergeStrategyAppend) isMergeStrategy()          {}
func (MergeStrategyLedger) isMergeStrategy()          {}
func (MergeStrategySnapshot) isMergeStrategy()        {}
func (MergeStrategyChangelogStream) isMergeStrategy() {}
func (MergeStrategyUpsertStream) isMergeStrategy()    {}

// Attachments is the source of a dataset's attachments.
type Attachments interface{ isAttachments() }

// AttachmentsEmbedded holds attachments inline.
type AttachmentsEmbedded struct {
	Items []AttachmentEmbedded `fb:"0" yaml:"items"`
}

func (AttachmentsEmbedded) isAttachments() {}

// ---- Schemas -----------------------------------------------------------------

// DataSchema is ODF's logical schema (RFC-016).
type DataSchema struct {
	Fields []DataField     `fb:"0" yaml:"fields"`
	Extra  ExtraAttributes `fb:"1,opt" yaml:"extra"`
}

// DataField is a named column of a schema or struct.
type DataField struct {
	Name  string          `fb:"0" yaml:"name"`
	Type  DataType        `fb:"1" yaml:"type"`
	Extra ExtraAttributes `fb:"3,opt" yaml:"extra"`
}

// DataType is a logical type.
type DataType interface{ isDataType() }

type (
	// DataTypeBinary is bytes, fixed-length when FixedLength is set.
	DataTypeBinary struct {
		FixedLength *uint64 `fb:"0" yaml:"fixedLength"`
	}
	DataTypeBool    struct{}
	DataTypeDate    struct{}
	DataTypeDecimal struct {
		Precision uint32 `fb:"0" yaml:"precision"`
		Scale     int32  `fb:"1" yaml:"scale"`
	}
	DataTypeDuration struct {
		Unit *TimeUnit `fb:"0" yaml:"unit"`
	}
	DataTypeFloat16 struct{}
	DataTypeFloat32 struct{}
	DataTypeFloat64 struct{}
	DataTypeInt8    struct{}
	DataTypeInt16   struct{}
	DataTypeInt32   struct{}
	DataTypeInt64   struct{}
	DataTypeUInt8   struct{}
	DataTypeUInt16  struct{}
	DataTypeUInt32  struct{}
	DataTypeUInt64  struct{}
	DataTypeList    struct {
		ItemType    DataType `fb:"0" yaml:"itemType"`
		FixedLength *uint64  `fb:"2" yaml:"fixedLength"`
	}
	DataTypeMap struct {
		KeyType    DataType `fb:"0" yaml:"keyType"`
		ValueType  DataType `fb:"2" yaml:"valueType"`
		KeysSorted *bool    `fb:"4" yaml:"keysSorted"`
	}
	DataTypeNull   struct{}
	DataTypeOption struct {
		Inner DataType `fb:"0" yaml:"inner"`
	}
	DataTypeStruct struct {
		Fields []DataField `fb:"0" yaml:"fields"`
	}
	DataTypeTime struct {
		Unit *TimeUnit `fb:"0" yaml:"unit"`
	}
	DataTypeTimestamp struct {
		Unit     *TimeUnit `fb:"0" yaml:"unit"`
		Timezone *string   `fb:"1" yaml:"timezone"`
	}
	DataTypeString struct{}
)

func (DataTypeBinary) isDataType()    {}
func (DataTypeBool) isDataType()      {}
func (DataTypeDate) isDataType()      {}
func (DataTypeDecimal) isDataType()   {}
func (DataTypeDuration) isDataType()  {}
func (DataTypeFloat16) isDataType()   {}
func (DataTypeFloat32) isDataType()   {}
func (DataTypeFloat64) isDataType()   {}
func (DataTypeInt8) isDataType()      {}
func (DataTypeInt16) isDataType()     {}
func (DataTypeInt32) isDataType()     {}
func (DataTypeInt64) isDataType()     {}
func (DataTypeUInt8) isDataType()     {}
func (DataTypeUInt16) isDataType()    {}
func (DataTypeUInt32) isDataType()    {}
func (DataTypeUInt64) isDataType()    {}
func (DataTypeList) isDataType()      {}
func (DataTypeMap) isDataType()       {}
func (DataTypeNull) isDataType()      {}
func (DataTypeOption) isDataType()    {}
func (DataTypeStruct) isDataType()    {}
func (DataTypeTime) isDataType()      {}
func (DataTypeTimestamp) isDataType() {}
func (DataTypeString) isDataType()    {}

// ---- Manifests -----------------------------------------------------------------

// DatasetSnapshot declares a dataset: its name, kind and the metadata
// events that set it up (kamu's `kind: DatasetSnapshot, version: 1`).
type DatasetSnapshot struct {
	Name     string          `fb:"0" yaml:"name"`
	Kind     DatasetKind     `fb:"1" yaml:"kind"`
	Metadata []MetadataEvent `fb:"2" yaml:"metadata"`
}
