package odf

import (
	"reflect"
)

// unionMember is one variant of a union: its Go type and its ODF name,
// which is the YAML `kind` tag. Its FlatBuffers type tag is its index + 1.
type unionMember struct {
	typ  reflect.Type
	name string
}

type unionInfo struct {
	name    string // the union's ODF name, for error messages
	members []unionMember
}

func (u *unionInfo) tagOf(t reflect.Type) (byte, bool) {
	for i, m := range u.members {
		if m.typ == t {
			return byte(i + 1), true
		}
	}
	return 0, false
}

func (u *unionInfo) names() []string {
	out := make([]string, len(u.members))
	for i, m := range u.members {
		out[i] = m.name
	}
	return out
}

func typeOf[T any]() reflect.Type { return reflect.TypeOf((*T)(nil)).Elem() }

func member[T any](name string) unionMember { return unionMember{typeOf[T](), name} }

// unions lists every union of the model in FlatBuffers tag order. It is
// built once and never changed.
var unions = map[reflect.Type]*unionInfo{
	typeOf[MetadataEvent](): {"MetadataEvent", []unionMember{
		member[AddData]("AddData"),
		member[ExecuteTransform]("ExecuteTransform"),
		member[Seed]("Seed"),
		member[SetPollingSource]("SetPollingSource"),
		member[SetTransform]("SetTransform"),
		member[SetVocab]("SetVocab"),
		member[SetAttachments]("SetAttachments"),
		member[SetInfo]("SetInfo"),
		member[SetLicense]("SetLicense"),
		member[SetDataSchema]("SetDataSchema"),
		member[AddPushSource]("AddPushSource"),
		member[DisablePushSource]("DisablePushSource"),
		member[DisablePollingSource]("DisablePollingSource"),
	}},
	typeOf[FetchStep](): {"FetchStep", []unionMember{
		member[FetchStepURL]("Url"),
		member[FetchStepFilesGlob]("FilesGlob"),
		member[FetchStepContainer]("Container"),
		member[FetchStepMqtt]("Mqtt"),
		member[FetchStepEthereumLogs]("EthereumLogs"),
	}},
	typeOf[EventTimeSource](): {"EventTimeSource", []unionMember{
		member[EventTimeSourceFromMetadata]("FromMetadata"),
		member[EventTimeSourceFromPath]("FromPath"),
		member[EventTimeSourceFromSystemTime]("FromSystemTime"),
	}},
	typeOf[SourceCaching](): {"SourceCaching", []unionMember{
		member[SourceCachingForever]("Forever"),
	}},
	typeOf[PrepStep](): {"PrepStep", []unionMember{
		member[PrepStepDecompress]("Decompress"),
		member[PrepStepPipe]("Pipe"),
	}},
	typeOf[ReadStep](): {"ReadStep", []unionMember{
		member[ReadStepCsv]("Csv"),
		member[ReadStepGeoJSON]("GeoJson"),
		member[ReadStepEsriShapefile]("EsriShapefile"),
		member[ReadStepParquet]("Parquet"),
		member[ReadStepJSON]("Json"),
		member[ReadStepNdJSON]("NdJson"),
		member[ReadStepNdGeoJSON]("NdGeoJson"),
	}},
	typeOf[Transform](): {"Transform", []unionMember{
		member[TransformSQL]("Sql"),
	}},
	typeOf[MergeStrategy](): {"MergeStrategy", []unionMember{
		member[MergeStrategyAppend]("Append"),
		member[MergeStrategyLedger]("Ledger"),
		member[MergeStrategySnapshot]("Snapshot"),
		member[MergeStrategyChangelogStream]("ChangelogStream"),
		member[MergeStrategyUpsertStream]("UpsertStream"),
	}},
	typeOf[Attachments](): {"Attachments", []unionMember{
		member[AttachmentsEmbedded]("Embedded"),
	}},
	typeOf[DataType](): {"DataType", []unionMember{
		member[DataTypeBinary]("Binary"),
		member[DataTypeBool]("Bool"),
		member[DataTypeDate]("Date"),
		member[DataTypeDecimal]("Decimal"),
		member[DataTypeDuration]("Duration"),
		member[DataTypeFloat16]("Float16"),
		member[DataTypeFloat32]("Float32"),
		member[DataTypeFloat64]("Float64"),
		member[DataTypeInt8]("Int8"),
		member[DataTypeInt16]("Int16"),
		member[DataTypeInt32]("Int32"),
		member[DataTypeInt64]("Int64"),
		member[DataTypeUInt8]("UInt8"),
		member[DataTypeUInt16]("UInt16"),
		member[DataTypeUInt32]("UInt32"),
		member[DataTypeUInt64]("UInt64"),
		member[DataTypeList]("List"),
		member[DataTypeMap]("Map"),
		member[DataTypeNull]("Null"),
		member[DataTypeOption]("Option"),
		member[DataTypeStruct]("Struct"),
		member[DataTypeTime]("Time"),
		member[DataTypeTimestamp]("Timestamp"),
		member[DataTypeString]("String"),
	}},
}

// EventName returns the ODF name of an event ("AddData", "Seed" …).
func EventName(e MetadataEvent) string {
	if e == nil {
		return ""
	}
	u := unions[typeOf[MetadataEvent]()]
	if tag, ok := u.tagOf(reflect.TypeOf(e)); ok {
		return u.members[tag-1].name
	}
	return reflect.TypeOf(e).Name()
}

// enumNames lists the names of each enum type in value order.
var enumNames = map[reflect.Type][]string{
	typeOf[DatasetKind]():       {"Root", "Derivative"},
	typeOf[CompressionFormat](): {"Gzip", "Zip"},
	typeOf[SourceOrdering]():    {"ByEventTime", "ByName"},
	typeOf[MqttQos]():           {"AtMostOnce", "AtLeastOnce", "ExactlyOnce"},
	typeOf[TimeUnit]():          {"Second", "Millisecond", "Microsecond", "Nanosecond"},
}

func (k DatasetKind) String() string { return enumString(k) }

func enumString[T ~int32 | ~int16](v T) string {
	names := enumNames[reflect.TypeOf(v)]
	if int(v) >= 0 && int(v) < len(names) {
		return names[v]
	}
	return "Unknown"
}
