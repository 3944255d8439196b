package sandbox

import (
	"context"
	"encoding/binary"
	"errors"
	"strings"
	"testing"
	"time"
)

// A small assembler for hand-written modules: what Go cannot compile to
// (loops without calls, recursion without loops) or where the function
// indices are known.

func wasmBinary(sections ...[]byte) []byte {
	return append([]byte("\x00asm\x01\x00\x00\x00"), concat(sections...)...)
}

func concat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// sec is a section of the given id whose body is a vector of items.
func sec(id byte, items ...[]byte) []byte {
	body := binary.AppendUvarint(nil, uint64(len(items)))
	body = append(body, concat(items...)...)
	return sizedSection(id, body)
}

func sizedSection(id byte, body []byte) []byte {
	out := append([]byte{id}, binary.AppendUvarint(nil, uint64(len(body)))...)
	return append(out, body...)
}

func name(s string) []byte { return append(binary.AppendUvarint(nil, uint64(len(s))), s...) }

// code is one function body without locals.
func code(instrs ...byte) []byte {
	body := append([]byte{0}, instrs...)
	return append(binary.AppendUvarint(nil, uint64(len(body))), body...)
}

// nameSection names functions by index.
func nameSection(names map[uint32]string, order ...uint32) []byte {
	var fn []byte
	fn = binary.AppendUvarint(fn, uint64(len(order)))
	for _, i := range order {
		fn = binary.AppendUvarint(fn, uint64(i))
		fn = append(fn, name(names[i])...)
	}
	body := concat(name("name"), []byte{1}, binary.AppendUvarint(nil, uint64(len(fn))), fn)
	return sizedSection(secCustom, body)
}

var (
	typeVoid  = []byte{0x60, 0, 0}       // () -> ()
	typeI32   = []byte{0x60, 1, 0x7f, 0} // (i32) -> ()
	typeToI32 = []byte{0x60, 0, 1, 0x7f} // () -> i32
	exportFn  = func(n string, idx byte) []byte { return concat(name(n), []byte{0x00, idx}) }
	procExit  = concat(name("wasi_snapshot_preview1"), name("proc_exit"), []byte{0x00, 1})
)

// spinModule's _start is a loop with no call in it.
func spinModule() []byte {
	return wasmBinary(
		sec(secType, typeVoid),
		sec(secFunction, []byte{0}),
		sec(secExport, exportFn("_start", 0)),
		sec(secCode, code(0x03, 0x40, 0x0c, 0x00, 0x0b, 0x0b)), // loop br 0 end
	)
}

// recursionModule's _start calls f(40), and f(n) calls f(n-1) twice: 2^40
// calls and not one loop.
func recursionModule() []byte {
	f := code(
		0x20, 0x00, 0x04, 0x40, // local.get 0; if
		0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x01, // f(n-1)
		0x20, 0x00, 0x41, 0x01, 0x6b, 0x10, 0x01, // f(n-1)
		0x0b, 0x0b)
	return wasmBinary(
		sec(secType, typeVoid, typeI32),
		sec(secFunction, []byte{0}, []byte{1}),
		sec(secExport, exportFn("_start", 0)),
		sec(secCode, code(0x41, 40, 0x10, 0x01, 0x0b), f),
	)
}

// indexModule reaches its functions every way that names an index: an
// import (proc_exit, function 0), direct calls, call_indirect through an
// element segment, ref.func in a global's initialiser, table.set, an
// export and the name section. It exits with 7+7+5 = 19.
func indexModule() []byte {
	start := code(
		0x41, 0x00, 0x11, 0x02, 0x00, // call_indirect slot 0: seven
		0x10, 0x02, 0x6a, // + seven()
		0x41, 0x01, 0x23, 0x00, 0x26, 0x00, // table[1] = global 0 (five)
		0x41, 0x01, 0x11, 0x02, 0x00, 0x6a, // + call_indirect slot 1
		0x10, 0x00, // proc_exit
		0x0b)
	return wasmBinary(
		sec(secType, typeVoid, typeI32, typeToI32),
		sec(secImport, procExit),
		sec(secFunction, []byte{0}, []byte{2}, []byte{2}),
		sec(4, []byte{0x70, 0x00, 2}),                                  // table funcref min 2
		sec(secGlobal, []byte{0x70, 0x00, 0xd2, 0x03, 0x0b}),           // funcref = ref.func five
		sec(secExport, exportFn("_start", 1)),                          //
		sec(secElement, []byte{0x00, 0x41, 0x00, 0x0b, 2, 0x02, 0x02}), // table[0:2] = seven, seven
		sec(secCode, start, code(0x41, 7, 0x0b), code(0x41, 5, 0x0b)),
		nameSection(map[uint32]string{1: "start", 2: "seven", 3: "five"}, 1, 2, 3),
	)
}

// trapModule's _start calls boom, which traps.
func trapModule() []byte {
	return wasmBinary(
		sec(secType, typeVoid, typeI32),
		sec(secImport, procExit),
		sec(secFunction, []byte{0}, []byte{0}),
		sec(secExport, exportFn("_start", 1)),
		sec(secCode, code(0x10, 0x02, 0x0b), code(0x00, 0x0b)),
		nameSection(map[uint32]string{1: "start", 2: "boom"}, 1, 2),
	)
}

func runHandMade(t *testing.T, bin []byte, timeout time.Duration) *Result {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Timeout = timeout
	res, err := Run(context.Background(), bin, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestInterruptStopsLoopsWithoutCalls(t *testing.T) {
	res := runHandMade(t, spinModule(), 200*time.Millisecond)
	if res.Stop != StopDeadline {
		t.Fatalf("stop = %s (%s), want deadline", res.Stop, res.Detail)
	}
	if res.WallTime > 3*time.Second {
		t.Errorf("took %s to stop after a 200ms deadline", res.WallTime)
	}
}

func TestInterruptStopsRecursionWithoutLoops(t *testing.T) {
	res := runHandMade(t, recursionModule(), 200*time.Millisecond)
	if res.Stop != StopDeadline {
		t.Fatalf("stop = %s (%s), want deadline", res.Stop, res.Detail)
	}
	if res.WallTime > 3*time.Second {
		t.Errorf("took %s to stop after a 200ms deadline", res.WallTime)
	}
}

func TestInterruptCancelBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	res, err := Run(ctx, spinModule(), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if res.Stop != StopCanceled {
		t.Fatalf("stop = %s (%s), want canceled", res.Stop, res.Detail)
	}
}

func TestInstrumentRenumbersFunctions(t *testing.T) {
	res := runHandMade(t, indexModule(), 10*time.Second)
	if res.Stop != StopExited || res.ExitCode != 19 {
		t.Fatalf("stop = %s, exit code %d (%s), want exited with 19", res.Stop, res.ExitCode, res.Detail)
	}
	res = runHandMade(t, trapModule(), 10*time.Second)
	if res.Stop != StopTrap || !strings.Contains(res.Detail, "boom") || strings.Contains(res.Detail, "start()\n\t.start") {
		t.Fatalf("stop = %s, detail %q: want a trap in boom, named in the stack trace", res.Stop, res.Detail)
	}
}

func TestInstrumentRefuses(t *testing.T) {
	reserved := wasmBinary(
		sec(secType, typeVoid),
		sec(secImport, concat(name(checkModule), name(checkName), []byte{0x00, 0})),
		sec(secFunction, []byte{0}),
		sec(secExport, exportFn("_start", 1)),
		sec(secCode, code(0x10, 0x00, 0x0b)),
	)
	// global.get 0 in a module without globals would, once rewritten,
	// read the sandbox's counter.
	counter := wasmBinary(
		sec(secType, typeVoid),
		sec(secFunction, []byte{0}),
		sec(secExport, exportFn("_start", 0)),
		sec(secCode, code(0x23, 0x00, 0x1a, 0x0b)),
	)
	// call 1 in a module with one function would call the check.
	call := wasmBinary(
		sec(secType, typeVoid),
		sec(secFunction, []byte{0}),
		sec(secExport, exportFn("_start", 0)),
		sec(secCode, code(0x10, 0x01, 0x0b)),
	)
	// 0xfe: atomics, not enabled in the runtime.
	atomics := wasmBinary(
		sec(secType, typeVoid),
		sec(secFunction, []byte{0}),
		sec(secExport, exportFn("_start", 0)),
		sec(secCode, code(0xfe, 0x03, 0x00, 0x0b)),
	)
	for name, bin := range map[string][]byte{
		"reserved import": reserved, "unknown global": counter, "unknown function": call,
		"atomics": atomics, "truncated": spinModule()[:20],
	} {
		_, err := Run(context.Background(), bin, DefaultConfig())
		if !errors.Is(err, ErrCompile) {
			t.Errorf("%s: %v, want ErrCompile", name, err)
		}
	}
}

// FuzzInstrument: instrument never panics, and what it accepts it turns
// into a module it would refuse to instrument again (the import is
// reserved), with its sections in order.
func FuzzInstrument(f *testing.F) {
	for _, m := range [][]byte{spinModule(), recursionModule(), indexModule(), trapModule()} {
		f.Add(m)
	}
	f.Fuzz(func(t *testing.T, bin []byte) {
		out, err := instrument(bin)
		if err != nil {
			if !errors.Is(err, errModule) {
				t.Fatalf("error %v does not wrap errModule", err)
			}
			return
		}
		if _, err := splitSections(out); err != nil {
			t.Fatalf("instrumented module does not split: %v", err)
		}
		if _, err := instrument(out); err == nil || !strings.Contains(err.Error(), "reserved") {
			t.Fatalf("instrumenting twice: %v, want the reserved import refused", err)
		}
	})
}
