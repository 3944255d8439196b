// Package cli is the ipos command line: one newXCommand constructor and one
// runX function per command, so that tests drive commands in process.
// Exit codes are chosen in one place, Main: 0 success, 1 failure, 2 bad
// usage, 3 a verification that found a fault.
package cli
