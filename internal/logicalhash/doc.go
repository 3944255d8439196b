// Package logicalhash computes the ODF logical hash of a data slice: a hash
// of the rows and schema of a Parquet file that does not depend on how the
// file was encoded (compression, page and row-group sizes, dictionary
// encoding, 32- or 64-bit offsets). kamu computes it with the arrow-digest
// crate's RecordDigestV0<Sha3_256>; this package reimplements that layout
// in Go and wraps the 32-byte digest as a multihash with code
// odf.CodeArrow0SHA3_256 (printed "f9680c00120…").
//
// # Layout
//
// Every integer below is little-endian. There is one SHA3-256 stream for
// the schema and one per leaf column.
//
// Schema stream. The fields are visited depth first; for each field
// (structs included) it receives the name's byte length as u64, the name,
// and the nesting depth as u64 (0 for top-level fields). Nullability and
// metadata are not hashed.
//
// Column streams. Every non-struct field is a column, in the same
// depth-first order. Its stream starts with a type header, a u16 type id
// and its parameters:
//
//	Int            1   u8 signed (1) / unsigned (0), u64 bit width
//	Float          2   u64 bit width (16, 32, 64)
//	Binary         3   (Binary, LargeBinary, BinaryView, FixedSizeBinary)
//	Utf8           4   (Utf8, LargeUtf8, Utf8View)
//	Bool           5
//	Decimal        6   u64 bit width (128, 256), u64 precision, u64 scale
//	Date           7   u64 bit width (32, 64), u16 unit (0 day, 1 ms)
//	Time           8   u64 bit width (32, 64), u16 unit (0 s, 1 ms, 2 µs, 3 ns)
//	Timestamp      9   u16 unit, then a zero byte if there is no time zone,
//	                   else u64 length and the zone name
//	List          11   header of the item type (List, LargeList, FixedSizeList)
//	Duration      17   u16 unit (IPOS extension, see below)
//
// A dictionary-encoded column has the header of its value type and is
// hashed as the values it stands for.
//
// Then the rows follow, batch after batch, with no separators:
//
//   - a null row is one 0 byte;
//   - a fixed-width value (ints, floats, dates, times, timestamps,
//     durations, decimals) is its in-memory little-endian bytes;
//   - a bool is 1 for false and 2 for true;
//   - a binary or string value is its byte length as u64 and the bytes
//     (fixed-size binary too, with the fixed width as length);
//   - a list is its element count as u64 followed by the elements, hashed
//     by these same rules with their own nulls and no second header.
//
// Struct validity. A column's effective validity combines the bitmaps of
// its enclosing structs and its own as arrow-digest does: bitmaps without
// nulls are ignored; when two bitmaps with nulls meet, a row is valid if
// EITHER says so (bitwise OR); when one of two meeting bitmaps has no nulls,
// the result has none either. This is reproduced bit for bit although it
// looks like an arrow-digest bug, because it decides kamu's hashes.
//
// Result. SHA3-256 over the schema stream's bytes followed by each column
// stream's 32-byte digest, in column order.
//
// # Invariants
//
//   - The hash does not depend on batch boundaries, with one inherited
//     exception: a null value inside a non-null struct is hashed as a null
//     only when its batch contains no null struct of the same parent;
//     otherwise the OR rule makes it a value (usually zero or empty). The
//     same rows can then hash differently for different batch sizes, in
//     kamu as here; OfParquet reads 10 000 rows per batch.
//   - Encodings that only change the physical representation (dictionary,
//     large offsets, views) do not change the hash; field names, nesting,
//     logical types, units and time zones, row order and nulls do.
//   - The host is assumed little-endian, as arrow-digest assumes.
//
// # Not supported
//
// New rejects, naming the column: Null, Interval, Map, Union, run-end
// encoded, list views, lists of structs, dictionaries of nested types, and
// Decimal32/Decimal64. arrow-digest itself also rejects Duration and
// dictionaries (it panics); we hash Duration with type id 17 followed by
// the u16 time unit, and dictionaries as their values, so for those two a
// kamu peer cannot currently reproduce our hash at all.
package logicalhash
