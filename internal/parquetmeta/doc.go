// Package parquetmeta edits the footer of a Parquet file without touching
// its data pages.
//
// DuckDB, which writes IPOS's data slices, can write a millisecond
// timestamp only as "not adjusted to UTC", while ODF (and kamu) mark the
// system_time and event_time columns TIMESTAMP(MILLIS, isAdjustedToUTC=true).
// The stored values are the same either way — milliseconds since the
// epoch, because the engine runs in UTC — so only the footer's schema has
// to say so. AdjustTimestampsToUTC rewrites that schema in place: the data
// pages and every offset that points at them stay as they were, because the
// footer comes after them, and only the footer is read and written.
//
// The footer is a Thrift compact-protocol FileMetaData. This package reads
// it into a generic tree, changes the schema elements of timestamp columns
// and writes the tree back; fields it does not know are copied unchanged.
package parquetmeta
