package sandbox

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/sys"
)

// Why the sandbox rewrites modules before compiling them.
//
// A deadline must stop a guest that never calls the host (a busy loop).
// wazero's answer, RuntimeConfig.WithCloseOnContextDone, makes its
// compiler emit, at every loop header, a call that leaves machine code
// for Go to look at the module's closed flag. Go compiled to wasm wraps
// every function body in a loop (that is how it resumes goroutines), so
// a Go guest leaves machine code on every function call and every loop
// iteration: measured on the aggregate algorithm, 5x its running time
// (wazero issue 2466, unfixed in v1.12.0).
//
// Instead, instrument adds to the module an i32 counter global and one
// import, ipos_sandbox.interrupt_check, and puts at the start of every
// function body and every loop body:
//
//	global.get $n; i32.const 1; i32.add; global.set $n
//	global.get $n; i32.const checkMask; i32.and; i32.eqz
//	if; call $interrupt_check; end
//
// so the guest calls the host once per checkInterval function entries or
// loop iterations. interrupt_check stops the run, as proc_exit does, when
// the run's context is done (deadline, cancel, a cap hit). The counter
// starts at checkMask, so the very first entry checks too. Every
// straight-line stretch of code between two counts is bounded by the
// module's size, so a run stops within checkInterval of them after its
// deadline; the same calls are where Go's scheduler and garbage collector
// can stop the guest's goroutine, which machine code never offers.
//
// The import is appended after the module's own imports, so defined
// functions move up by one index: calls, ref.func, exports, the start
// function, element segments and the name section are renumbered. The
// walk decodes every instruction, with the immediates wazero's compiler
// reads, and refuses what the runtime (WebAssembly 2.0 core features)
// would refuse anyway: other prefixes, tail calls, exceptions. A module
// may not import ipos_sandbox itself, nor name a global or function
// index it does not define (which after rewriting would name ours).

const (
	checkModule = "ipos_sandbox"
	checkName   = "interrupt_check"
	// checkInterval is how many counted points (function entries, loop
	// iterations) pass between two calls of interrupt_check: rare enough
	// to cost nothing measurable, often enough that a deadline stops a
	// run within microseconds.
	checkInterval = 1 << 12
	checkMask     = checkInterval - 1
)

// errModule is wrapped, with the place, in every error instrument returns.
var errModule = errors.New("malformed or unsupported module")

// interruptCheck is ipos_sandbox.interrupt_check. ctx is the context the
// guest's _start was called with: the run's context.
func interruptCheck(ctx context.Context, _ api.Module, _ []uint64) {
	err := ctx.Err()
	if err == nil {
		return
	}
	code := sys.ExitCodeContextCanceled
	if errors.Is(err, context.DeadlineExceeded) {
		code = sys.ExitCodeDeadlineExceeded
	}
	panic(sys.NewExitError(code))
}

// Section ids of the WebAssembly binary format.
const (
	secCustom   = 0
	secType     = 1
	secImport   = 2
	secFunction = 3
	secMemory   = 5
	secGlobal   = 6
	secExport   = 7
	secStart    = 8
	secElement  = 9
	secCode     = 10
	secData     = 11
	secTag      = 13
)

// sectionOrder is where each known section id must appear.
var sectionOrder = map[byte]int{
	secType: 1, secImport: 2, secFunction: 3, 4: 4, secMemory: 5, secTag: 6,
	secGlobal: 7, secExport: 8, secStart: 9, secElement: 10, 12: 11, secCode: 12, secData: 13,
}

type section struct {
	id   byte
	body []byte
}

// rewriter holds what instrument learned about a module.
type rewriter struct {
	funcImports  uint32 // imported functions: indices below stay put
	funcs        uint32 // all functions before rewriting
	globals      uint32 // all globals before rewriting
	counter      uint32 // index of the counter global
	checkFunc    uint32 // index of interrupt_check
	checkType    uint32 // index of the type [] -> []
	addCheckType bool
	types        uint32
	definedFuncs uint32
}

func (w *rewriter) remapFunc(idx uint32) (uint32, error) {
	if idx >= w.funcs {
		return 0, fmt.Errorf("function index %d out of range (%d functions)", idx, w.funcs)
	}
	if idx >= w.funcImports {
		return idx + 1, nil
	}
	return idx, nil
}

// instrument returns module with interrupt checks at every function entry
// and loop header (see above). It does not change module.
func instrument(module []byte) ([]byte, error) {
	sections, err := splitSections(module)
	if err != nil {
		return nil, err
	}
	w := &rewriter{}
	if err := w.scan(sections); err != nil {
		return nil, err
	}
	out := append([]byte(nil), module[:8]...)
	emit := func(id byte, body []byte) {
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	seen := map[byte]bool{}
	// insertMissing emits the type, import and global sections the module
	// lacks before the first section that must follow them.
	insertMissing := func(before int) {
		if before > sectionOrder[secType] && !seen[secType] && w.addCheckType {
			seen[secType] = true
			emit(secType, w.typeSection(nil))
		}
		if before > sectionOrder[secImport] && !seen[secImport] {
			seen[secImport] = true
			emit(secImport, w.importSection(nil))
		}
		if before > sectionOrder[secGlobal] && !seen[secGlobal] {
			seen[secGlobal] = true
			body, _ := w.globalSection(nil)
			emit(secGlobal, body)
		}
	}
	for _, s := range sections {
		if s.id != secCustom {
			insertMissing(sectionOrder[s.id])
			seen[s.id] = true
		}
		body, err := w.rewrite(s)
		if err != nil {
			return nil, err
		}
		if body != nil {
			emit(s.id, body)
		}
	}
	insertMissing(math.MaxInt)
	return out, nil
}

func splitSections(module []byte) ([]section, error) {
	if len(module) < 8 || string(module[:4]) != "\x00asm" || binary.LittleEndian.Uint32(module[4:8]) != 1 {
		return nil, fmt.Errorf("%w: not a WebAssembly 1 binary", errModule)
	}
	r := &reader{b: module, off: 8}
	var out []section
	last := 0
	for r.off < len(r.b) {
		id := r.byte()
		size := r.u32()
		body := r.bytes(int(size))
		if r.err != nil {
			return nil, fmt.Errorf("%w: section %d: %v", errModule, id, r.err)
		}
		if id != secCustom {
			order, ok := sectionOrder[id]
			if !ok || order <= last {
				return nil, fmt.Errorf("%w: section %d unknown or out of order", errModule, id)
			}
			last = order
		}
		out = append(out, section{id: id, body: body})
	}
	return out, nil
}

// scan counts types, imports, functions and globals, and finds or plans
// the type of interrupt_check.
func (w *rewriter) scan(sections []section) error {
	for _, s := range sections {
		r := &reader{b: s.body}
		switch s.id {
		case secType:
			n := r.u32()
			w.types = n
			found := false
			for i := uint32(0); i < n && r.err == nil; i++ {
				if form := r.byte(); form != 0x60 {
					r.fail("type %d: form %#x is not a function type", i, form)
				}
				params := r.u32()
				r.bytes(int(params))
				results := r.u32()
				r.bytes(int(results))
				if params == 0 && results == 0 && !found {
					w.checkType, found = i, true
				}
			}
			if !found {
				w.checkType = n
				w.addCheckType = true
			}
		case secImport:
			n := r.u32()
			for i := uint32(0); i < n && r.err == nil; i++ {
				mod := r.name()
				r.name()
				if mod == checkModule {
					r.fail("import %d: module %q is reserved for the sandbox", i, checkModule)
				}
				switch kind := r.byte(); kind {
				case 0x00:
					r.u32()
					w.funcImports++
				case 0x01:
					r.byte()
					r.limits()
				case 0x02:
					r.limits()
				case 0x03:
					r.byte()
					r.byte()
					w.globals++
				default:
					r.fail("import %d: kind %#x unsupported", i, kind)
				}
			}
		case secFunction:
			w.definedFuncs = r.u32()
			for i := uint32(0); i < w.definedFuncs && r.err == nil; i++ {
				r.u32()
			}
		case secGlobal:
			// Counted here, read (and their initialisers checked) in rewrite.
			w.globals += r.u32()
			r.off = len(r.b)
		default:
			continue
		}
		if err := r.done(); err != nil {
			return fmt.Errorf("%w: section %d: %v", errModule, s.id, err)
		}
	}
	if !w.addCheckType && w.types == 0 {
		w.addCheckType = true
	}
	w.funcs = w.funcImports + w.definedFuncs
	w.checkFunc = w.funcImports
	w.counter = w.globals
	return nil
}

// rewrite returns the new body of s; nil drops it.
func (w *rewriter) rewrite(s section) ([]byte, error) {
	var (
		body []byte
		err  error
	)
	switch s.id {
	case secType:
		return w.typeSection(s.body), nil
	case secImport:
		return w.importSection(s.body), nil
	case secGlobal:
		body, err = w.globalSection(s.body)
	case secExport:
		body, err = w.exportSection(s.body)
	case secStart:
		r := &reader{b: s.body}
		idx, err := w.remapFunc(r.u32())
		if err == nil && r.err != nil {
			err = r.err
		}
		if err != nil {
			return nil, fmt.Errorf("%w: start section: %v", errModule, err)
		}
		return binary.AppendUvarint(nil, uint64(idx)), nil
	case secElement:
		body, err = w.elementSection(s.body)
	case secCode:
		body, err = w.codeSection(s.body)
	case secData:
		body, err = w.dataSection(s.body)
	case secCustom:
		return w.customSection(s.body), nil
	default:
		return s.body, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: section %d: %v", errModule, s.id, err)
	}
	return body, nil
}

func (w *rewriter) typeSection(old []byte) []byte {
	if !w.addCheckType {
		return old
	}
	r := &reader{b: old}
	n := uint32(0)
	if old != nil {
		n = r.u32()
	}
	out := binary.AppendUvarint(nil, uint64(n+1))
	out = append(out, old[r.off:]...)
	return append(out, 0x60, 0, 0)
}

func (w *rewriter) importSection(old []byte) []byte {
	r := &reader{b: old}
	n := uint32(0)
	if old != nil {
		n = r.u32()
	}
	out := binary.AppendUvarint(nil, uint64(n+1))
	out = append(out, old[r.off:]...)
	out = appendName(out, checkModule)
	out = appendName(out, checkName)
	out = append(out, 0x00)
	return binary.AppendUvarint(out, uint64(w.checkType))
}

func (w *rewriter) globalSection(old []byte) ([]byte, error) {
	r := &reader{b: old}
	n := uint32(0)
	if old != nil {
		n = r.u32()
	}
	out := binary.AppendUvarint(nil, uint64(n+1))
	for i := uint32(0); i < n && r.err == nil; i++ {
		out = append(out, r.byte(), r.byte())
		var err error
		if out, err = w.constExpr(r, out); err != nil {
			return nil, fmt.Errorf("global %d: %v", i, err)
		}
	}
	if err := r.done(); err != nil {
		return nil, err
	}
	// (global (mut i32) (i32.const checkMask))
	out = append(out, 0x7f, 0x01, 0x41)
	out = binary.AppendVarint(out, checkMask)
	return append(out, 0x0b), nil
}

func (w *rewriter) exportSection(old []byte) ([]byte, error) {
	r := &reader{b: old}
	n := r.u32()
	out := binary.AppendUvarint(nil, uint64(n))
	for i := uint32(0); i < n && r.err == nil; i++ {
		out = appendName(out, r.name())
		kind := r.byte()
		idx := r.u32()
		if kind == 0x00 {
			var err error
			if idx, err = w.remapFunc(idx); err != nil {
				return nil, fmt.Errorf("export %d: %v", i, err)
			}
		}
		out = append(out, kind)
		out = binary.AppendUvarint(out, uint64(idx))
	}
	return out, r.done()
}

func (w *rewriter) elementSection(old []byte) ([]byte, error) {
	r := &reader{b: old}
	n := r.u32()
	out := binary.AppendUvarint(nil, uint64(n))
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		if flags > 7 {
			return nil, fmt.Errorf("element %d: flags %d unsupported", i, flags)
		}
		out = binary.AppendUvarint(out, uint64(flags))
		var err error
		if flags == 2 || flags == 6 {
			out = binary.AppendUvarint(out, uint64(r.u32())) // table index
		}
		if flags&1 == 0 { // active: an offset expression
			if out, err = w.constExpr(r, out); err != nil {
				return nil, fmt.Errorf("element %d offset: %v", i, err)
			}
		}
		if flags&3 != 0 { // elemkind or reftype
			out = append(out, r.byte())
		}
		count := r.u32()
		out = binary.AppendUvarint(out, uint64(count))
		for j := uint32(0); j < count && r.err == nil; j++ {
			if flags&4 == 0 {
				idx, err := w.remapFunc(r.u32())
				if err != nil {
					return nil, fmt.Errorf("element %d: %v", i, err)
				}
				out = binary.AppendUvarint(out, uint64(idx))
			} else if out, err = w.constExpr(r, out); err != nil {
				return nil, fmt.Errorf("element %d item %d: %v", i, j, err)
			}
		}
	}
	return out, r.done()
}

func (w *rewriter) dataSection(old []byte) ([]byte, error) {
	r := &reader{b: old}
	n := r.u32()
	out := binary.AppendUvarint(nil, uint64(n))
	for i := uint32(0); i < n && r.err == nil; i++ {
		flags := r.u32()
		out = binary.AppendUvarint(out, uint64(flags))
		switch flags {
		case 0, 2:
			if flags == 2 {
				out = binary.AppendUvarint(out, uint64(r.u32())) // memory index
			}
			var err error
			if out, err = w.constExpr(r, out); err != nil {
				return nil, fmt.Errorf("data %d offset: %v", i, err)
			}
		case 1:
		default:
			return nil, fmt.Errorf("data %d: flags %d unsupported", i, flags)
		}
		size := r.u32()
		out = binary.AppendUvarint(out, uint64(size))
		out = append(out, r.bytes(int(size))...)
	}
	return out, r.done()
}

// codeSection instruments every function body.
func (w *rewriter) codeSection(old []byte) ([]byte, error) {
	r := &reader{b: old}
	n := r.u32()
	if r.err == nil && n != w.definedFuncs {
		return nil, fmt.Errorf("%d bodies for %d functions", n, w.definedFuncs)
	}
	out := binary.AppendUvarint(make([]byte, 0, len(old)+len(old)/8), uint64(n))
	var body []byte
	for i := uint32(0); i < n && r.err == nil; i++ {
		size := r.u32()
		fr := &reader{b: r.bytes(int(size))}
		if r.err != nil {
			break
		}
		body = body[:0]
		locals := fr.u32()
		for j := uint32(0); j < locals && fr.err == nil; j++ {
			fr.u32()
			fr.byte()
		}
		if fr.err != nil {
			return nil, fmt.Errorf("function %d locals: %v", w.funcImports+i, fr.err)
		}
		body = append(body, fr.b[:fr.off]...)
		body = w.appendCheck(body)
		var err error
		if body, err = w.instructions(fr, body, false); err != nil {
			return nil, fmt.Errorf("function %d: %v", w.funcImports+i, err)
		}
		out = binary.AppendUvarint(out, uint64(len(body)))
		out = append(out, body...)
	}
	return out, r.done()
}

func (w *rewriter) appendCheck(out []byte) []byte {
	out = append(out, 0x23)
	out = binary.AppendUvarint(out, uint64(w.counter))
	out = append(out, 0x41, 0x01, 0x6a, 0x24)
	out = binary.AppendUvarint(out, uint64(w.counter))
	out = append(out, 0x23)
	out = binary.AppendUvarint(out, uint64(w.counter))
	out = append(out, 0x41)
	out = binary.AppendVarint(out, checkMask)
	out = append(out, 0x71, 0x45, 0x04, 0x40, 0x10)
	out = binary.AppendUvarint(out, uint64(w.checkFunc))
	return append(out, 0x0b)
}

// constExpr copies one constant expression, up to and including its end.
func (w *rewriter) constExpr(r *reader, out []byte) ([]byte, error) {
	return w.instructions(r, out, true)
}

// instructions copies an expression from r to out, up to and including
// the end that closes it, renumbering functions and, unless constant,
// adding a check after every loop's block type.
func (w *rewriter) instructions(r *reader, out []byte, constant bool) ([]byte, error) {
	depth := 1
	for depth > 0 {
		start := r.off
		op := r.byte()
		if r.err != nil {
			return nil, r.err
		}
		switch {
		case op == 0x02 || op == 0x03 || op == 0x04: // block, loop, if
			r.s33()
			depth++
		case op == 0x0b: // end
			depth--
		case op == 0x00 || op == 0x01 || op == 0x05 || op == 0x0f || op == 0x1a || op == 0x1b || op == 0xd1:
		case op == 0x0c || op == 0x0d: // br, br_if
			r.u32()
		case op == 0x0e: // br_table
			n := r.u32()
			for i := uint32(0); i <= n && r.err == nil; i++ {
				r.u32()
			}
		case op == 0x10 || op == 0xd2: // call, ref.func
			idx, err := w.remapFunc(r.u32())
			if r.err != nil {
				return nil, r.err
			}
			if err != nil {
				return nil, fmt.Errorf("offset %d: %v", start, err)
			}
			out = append(out, op)
			out = binary.AppendUvarint(out, uint64(idx))
			continue
		case op == 0x11: // call_indirect
			r.u32()
			r.u32()
		case op == 0x1c: // select t*
			if n := r.byte(); n != 1 {
				return nil, fmt.Errorf("offset %d: typed select with %d types", start, n)
			}
			r.byte()
		case op >= 0x20 && op <= 0x22: // local.get/set/tee
			r.u32()
		case op == 0x23 || op == 0x24: // global.get/set
			if idx := r.u32(); r.err == nil && idx >= w.globals {
				return nil, fmt.Errorf("offset %d: global index %d out of range (%d globals)", start, idx, w.globals)
			}
		case op == 0x25 || op == 0x26: // table.get/set
			r.u32()
		case op >= 0x28 && op <= 0x3e: // loads and stores
			r.memarg()
		case op == 0x3f || op == 0x40: // memory.size, memory.grow
			r.zero()
		case op == 0x41:
			r.s33()
		case op == 0x42:
			r.s64()
		case op == 0x43:
			r.bytes(4)
		case op == 0x44:
			r.bytes(8)
		case op >= 0x45 && op <= 0xc4: // numeric, sign extension
		case op == 0xd0: // ref.null
			if t := r.byte(); t != 0x70 && t != 0x6f {
				return nil, fmt.Errorf("offset %d: ref.null of type %#x", start, t)
			}
		case op == 0xfc:
			r.misc()
		case op == 0xfd:
			r.simd()
		default:
			return nil, fmt.Errorf("offset %d: unsupported opcode %#x", start, op)
		}
		if r.err != nil {
			return nil, fmt.Errorf("offset %d: %v", start, r.err)
		}
		out = append(out, r.b[start:r.off]...)
		if op == 0x03 && !constant {
			out = w.appendCheck(out)
		}
	}
	return out, nil
}

// customSection renumbers the function indices of the name section and
// keeps other custom sections as they are. A name section it cannot read
// is dropped: names only label stack traces.
func (w *rewriter) customSection(body []byte) []byte {
	r := &reader{b: body}
	if r.name() != "name" || r.err != nil {
		return body
	}
	out := append([]byte(nil), body[:r.off]...)
	for r.off < len(r.b) {
		id := r.byte()
		sub := &reader{b: r.bytes(int(r.u32()))}
		if r.err != nil {
			return nil
		}
		var nb []byte
		switch id {
		case 1: // function names
			nb = w.nameMap(sub, nil)
		case 2, 3: // local and label names, by function
			n := sub.u32()
			nb = binary.AppendUvarint(nil, uint64(n))
			for i := uint32(0); i < n && sub.err == nil; i++ {
				idx, err := w.remapFunc(sub.u32())
				if err != nil {
					return nil
				}
				nb = binary.AppendUvarint(nb, uint64(idx))
				nb = copyNameMap(sub, nb)
			}
		default:
			nb = sub.b
			sub.off = len(sub.b)
		}
		if sub.done() != nil || nb == nil {
			return nil
		}
		out = append(out, id)
		out = binary.AppendUvarint(out, uint64(len(nb)))
		out = append(out, nb...)
	}
	return out
}

func (w *rewriter) nameMap(r *reader, out []byte) []byte {
	n := r.u32()
	out = binary.AppendUvarint(out, uint64(n))
	for i := uint32(0); i < n && r.err == nil; i++ {
		idx, err := w.remapFunc(r.u32())
		if err != nil {
			return nil
		}
		out = binary.AppendUvarint(out, uint64(idx))
		out = appendName(out, r.name())
	}
	if r.err != nil {
		return nil
	}
	return out
}

func copyNameMap(r *reader, out []byte) []byte {
	start := r.off
	n := r.u32()
	for i := uint32(0); i < n && r.err == nil; i++ {
		r.u32()
		r.name()
	}
	return append(out, r.b[start:r.off]...)
}

func appendName(out []byte, s string) []byte {
	out = binary.AppendUvarint(out, uint64(len(s)))
	return append(out, s...)
}

// reader decodes the binary format. The first error sticks: later reads
// return zero values, and callers check err once per item.
type reader struct {
	b   []byte
	off int
	err error
}

func (r *reader) fail(format string, args ...any) {
	if r.err == nil {
		r.err = fmt.Errorf(format, args...)
	}
}

func (r *reader) byte() byte {
	if r.err != nil {
		return 0
	}
	if r.off >= len(r.b) {
		r.fail("unexpected end at offset %d", r.off)
		return 0
	}
	c := r.b[r.off]
	r.off++
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil {
		return nil
	}
	if n < 0 || n > len(r.b)-r.off {
		r.fail("%d bytes past the end at offset %d", n, r.off)
		return nil
	}
	b := r.b[r.off : r.off+n]
	r.off += n
	return b
}

// leb reads an LEB128 number of at most maxBits bits, signed or not, as
// wazero reads it: at most ceil(maxBits/7) bytes.
func (r *reader) leb(maxBits uint, signed bool) uint64 {
	var v uint64
	var shift uint
	for i := uint(0); i < (maxBits+6)/7; i++ {
		c := r.byte()
		if r.err != nil {
			return 0
		}
		v |= uint64(c&0x7f) << shift
		shift += 7
		if c&0x80 == 0 {
			if signed && shift < 64 && c&0x40 != 0 {
				v |= ^uint64(0) << shift
			}
			return v
		}
	}
	r.fail("LEB128 number longer than %d bits at offset %d", maxBits, r.off)
	return 0
}

func (r *reader) u32() uint32 {
	v := r.leb(32, false)
	if v > math.MaxUint32 {
		r.fail("number %d above 32 bits at offset %d", v, r.off)
	}
	return uint32(v)
}

func (r *reader) s33() { r.leb(33, true) }
func (r *reader) s64() { r.leb(64, true) }

func (r *reader) name() string {
	return string(r.bytes(int(r.u32())))
}

func (r *reader) limits() {
	flag := r.byte()
	r.u32()
	if flag&1 != 0 {
		r.u32()
	}
	if flag > 3 {
		r.fail("limits flag %#x unsupported", flag)
	}
}

func (r *reader) memarg() {
	if align := r.u32(); align >= 0x40 {
		r.fail("memory index in memarg unsupported")
	}
	r.u32()
}

// zero reads a reserved memory index, which must be one zero byte.
func (r *reader) zero() {
	if c := r.byte(); c != 0 {
		r.fail("reserved byte %#x is not zero", c)
	}
}

// misc reads the 0xfc-prefixed instructions after the prefix.
func (r *reader) misc() {
	switch op := r.u32(); {
	case op <= 7: // saturating truncations
	case op == 8: // memory.init
		r.u32()
		r.zero()
	case op == 9, op == 13, op >= 15 && op <= 17: // data.drop, elem.drop, table.grow/size/fill
		r.u32()
	case op == 10: // memory.copy
		r.zero()
		r.zero()
	case op == 11: // memory.fill
		r.zero()
	case op == 12, op == 14: // table.init, table.copy
		r.u32()
		r.u32()
	default:
		r.fail("unsupported instruction 0xfc %d", op)
	}
}

// simd reads the 0xfd-prefixed instructions after the prefix. wazero
// reads their opcode as one byte, so this does too.
func (r *reader) simd() {
	switch op := r.byte(); {
	case op <= 0x0b, op == 0x5c, op == 0x5d: // loads, store, load zero
		r.memarg()
	case op == 0x0c, op == 0x0d: // v128.const, i8x16.shuffle
		r.bytes(16)
	case op >= 0x15 && op <= 0x22: // extract and replace lane
		r.byte()
	case op >= 0x54 && op <= 0x5b: // load and store lane
		r.memarg()
		r.byte()
	}
}

// done reports a read error, or bytes left over.
func (r *reader) done() error {
	if r.err != nil {
		return r.err
	}
	if r.off != len(r.b) {
		return fmt.Errorf("%d bytes left over at offset %d", len(r.b)-r.off, r.off)
	}
	return nil
}
