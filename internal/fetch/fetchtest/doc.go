// Package fetchtest starts and finds the servers that the S3 and
// PostgreSQL depot tests read from: a versitygw S3 gateway serving a
// temporary folder, and the PostgreSQL server the machine runs. The fetch
// package's tests and the CLI's txtar scripts share it, so both start and
// stop the servers the same way.
//
// Finding the servers:
//   - versitygw: $IPOS_VERSITYGW, then bin/tools/versitygw in the
//     repository (make tools installs it there), then PATH.
//   - PostgreSQL: $IPOS_TEST_POSTGRES_DSN, else
//     postgres://postgres@127.0.0.1:5432/test.
//
// Invariants:
//   - With CI=true a missing server fails the test; otherwise it is
//     skipped with a message saying how to provide it. Never a silent pass.
//   - Every server and schema a test starts or creates is stopped or
//     dropped in its cleanup; S3 data lives in a temporary folder.
//   - Each run uses a free port and a uniquely named PostgreSQL schema,
//     so parallel runs do not collide.
package fetchtest
