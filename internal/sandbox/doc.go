// Package sandbox runs untrusted WASI preview-1 modules (compute-to-data
// algorithms) in wazero, next to the data and away from everything else.
// It is the only package that imports wazero.
//
// A run sees one filesystem, held in memory and mounted at "/":
// /data/inputs and /data/ddos are read-only views of fs.FS values the host
// chose (HostFiles, MemFiles or an os.Root's FS), /data/outputs and
// /data/logs are writable in-memory trees with byte and file caps, and the
// guest's stdout and stderr are /data/logs/stdout and /data/logs/stderr.
// The Result carries the exit code, why the run stopped (exited,
// deadline, canceled, memory, cap, trap), the outputs and logs, and the
// resources used.
//
// Invariants:
//   - The jail holds by construction, not by checks on host paths: the
//     guest's filesystem is an experimental sys.FS over an in-memory tree
//     (jailFS). Nothing in it names a host path; ".." is refused at every
//     level; symlinks and hard links cannot be created; renames stay
//     inside one writable area; read-only views hand fs.ValidPath paths to
//     the fs.FS. wazero's own directory mounts, which can be escaped with
//     "../" and relative symlinks, are never used.
//   - Inputs cannot change: every write, create, truncate, rename, unlink,
//     chmod or utimes under /data/inputs or /data/ddos fails with EROFS;
//     elsewhere outside the writable areas with EPERM.
//   - Caps are enforced on every write (including sparse writes and
//     truncates, and writes through handles of unlinked files, which fail).
//     The first write past a cap fails (wazero's errno set has no ENOSPC,
//     so the guest sees EIO) and the run is stopped with StopCap: an
//     algorithm whose output was cut short must not be released.
//   - No network: only WASI preview 1 is instantiated and no sockets are
//     pre-opened, plus the sandbox's own interrupt check, which a module
//     may not import itself. No host environment variable reaches the
//     guest.
//   - Deterministic by default: a fixed clock (2022-01-01 plus 1 ms per
//     reading), no-op sleep, a ChaCha8 random stream seeded by
//     Config.Seed, and fixed file times. The same module, inputs and
//     config give the same outputs, which is what receipts memoize.
//   - Memory is capped per run by a memory allocator that refuses to grow
//     past Config.MemoryLimit.
//   - A deadline, a cancel or a cap hit stops any guest, calls or no
//     calls: every module is rewritten before it is compiled so that
//     every function entry and loop iteration counts, and every 4096th
//     asks the host whether the run's context is done (interrupt.go says
//     why this replaces wazero's WithCloseOnContextDone, which cost a
//     Go guest 5x its running time). Those calls are also where Go's
//     scheduler and garbage collector get the guest's goroutine back.
//   - No package-level mutable state: compiled modules are cached per
//     Engine, keyed by the module's SHA-256, and optionally on disk in a
//     wazero compilation cache directory.
package sandbox
