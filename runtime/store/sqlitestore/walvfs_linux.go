//go:build linux && (amd64 || arm64)

package sqlitestore

import (
	"runtime/debug"
	"sync"
	"syscall"
	"unsafe"

	"modernc.org/libc"
	sqlite3 "modernc.org/sqlite/lib"
)

// walVFS is the name of the VFS the store opens its connections with: SQLite's
// unix VFS, except for WAL files, which it writes and reads with fewer system
// calls.
//
// Writes: SQLite writes a frame as its 24-byte header and then its page at the
// next offset (walWriteOneFrame), and the frames of a commit one after the
// other, the commit frame (the one whose header carries the database size)
// last. The shim copies the frames of a transaction into a staging buffer
// and writes them with one pwrite when the commit frame arrives, or before
// any other operation on the file (a read, a write elsewhere, a sync, a
// truncate, a size query, a close), or when the buffer is full. A commit
// frame is on the file before its write returns, so before SQLite publishes
// the commit in the WAL index: what other connections and a crash see is
// what the unix VFS would have left. A header that follows a read of its
// own frame (SQLite rewriting the checksums of frames already written,
// walRewriteChecksums) is written at once.
//
// Reads: the file is mapped read-only, and a read of bytes the file is known
// to hold (this handle wrote or read them) copies from the mapping instead of
// calling pread; a copy that faults (another process truncated the file
// under the mapping) falls back to pread.
const walVFS = "idemgen-unix"

// walFile is the shim's state for one open WAL file, kept in the bytes after
// the unix VFS's own file structure (the shim's szOsFile is larger).
type walFile struct {
	pending int32 // 1: hdr waits to be written at hdrOff
	_       int32
	hdrOff  int64
	readOff int64 // offset of the last operation when it was a read, else -1
	hdr     [walFrameHeader]byte
	mapped  uintptr // the file mapped read-only (walMapSize bytes), or 0
	size    int64   // bytes known to exist in the file: reads below it copy from mapped
	stage   uintptr // walStageSize bytes of staged frames (allocated on first use), or 0
	stOff   int64   // the file offset of the staged bytes
	stLen   int64   // how many bytes are staged
}

// walStageSize bounds the frames staged for one write: 254 frames of 4 KiB
// pages, more than a group commit of the store writes.
const walStageSize = 1 << 20

// walMapSize is how much of a WAL file the shim maps (address space, not
// memory): reads of frames beyond it use pread. The store's WAL holds about
// walPages frames, 16 MiB.
const walMapSize = 256 << 20

const walFrameHeader = 24

var (
	shimOnce sync.Once
	shimErr  error
	shimVFS  sqlite3.Tsqlite3_vfs        // registered under walVFS
	walIO    sqlite3.Tsqlite3_io_methods // the unix WAL file's methods, with ours
	baseVFS  uintptr                     // the unix VFS
	baseIO   sqlite3.Tsqlite3_io_methods // the unix VFS's methods of the first WAL file
	baseIOp  uintptr                     // and their address
	baseSize uintptr                     // the unix VFS's szOsFile, rounded up to 8
	walMu    sync.Mutex                  // guards walIO's setup
)

// registerVFS registers walVFS once per process and reports whether the store
// can use it.
func registerVFS() (string, error) {
	shimOnce.Do(func() {
		tls := libc.NewTLS()
		defer tls.Close()
		baseVFS = sqlite3.Xsqlite3_vfs_find(tls, 0)
		if baseVFS == 0 {
			shimErr = errNoVFS
			return
		}
		base := (*sqlite3.Tsqlite3_vfs)(cptr(baseVFS))
		baseSize = (uintptr(base.FszOsFile) + 7) &^ 7
		shimVFS = *base
		shimVFS.FpNext = 0
		shimVFS.FszOsFile = int32(baseSize + unsafe.Sizeof(walFile{}))
		name, err := libc.CString(walVFS)
		if err != nil {
			shimErr = err
			return
		}
		shimVFS.FzName = name
		shimVFS.FxOpen = fnptr(walOpen)
		if rc := sqlite3.Xsqlite3_vfs_register(tls, uintptr(unsafe.Pointer(&shimVFS)), 0); rc != sqlite3.SQLITE_OK {
			shimErr = errNoVFS
		}
	})
	if shimErr != nil {
		return "", shimErr
	}
	return walVFS, nil
}

// fnptr is f as SQLite's function pointers hold it (f must be a top-level
// function: its value is static).
func fnptr[F any](f F) uintptr { return *(*uintptr)(unsafe.Pointer(&f)) }

type (
	openFn     = func(*libc.TLS, uintptr, uintptr, uintptr, int32, uintptr) int32
	closeFn    = func(*libc.TLS, uintptr) int32
	rwFn       = func(*libc.TLS, uintptr, uintptr, int32, int64) int32
	truncateFn = func(*libc.TLS, uintptr, int64) int32
	syncFn     = func(*libc.TLS, uintptr, int32) int32
	sizeFn     = func(*libc.TLS, uintptr, uintptr) int32
)

// call is the function pointer fp as a Go function of type F.
func call[F any](fp uintptr) F { return *(*F)(unsafe.Pointer(&struct{ uintptr }{fp})) }

// cptr is the address u of SQLite's (C) memory as a pointer.
func cptr(u uintptr) unsafe.Pointer { return *(*unsafe.Pointer)(unsafe.Pointer(&u)) }

func shimState(pFile uintptr) *walFile { return (*walFile)(cptr(pFile + baseSize)) }

// walOpen opens the file with the unix VFS and, for a WAL file, puts the
// shim's methods in front of the unix VFS's.
func walOpen(tls *libc.TLS, _, zName, pFile uintptr, flags int32, pOutFlags uintptr) int32 {
	base := (*sqlite3.Tsqlite3_vfs)(cptr(baseVFS))
	rc := call[openFn](base.FxOpen)(tls, baseVFS, zName, pFile, flags, pOutFlags)
	f := (*sqlite3.Tsqlite3_file)(cptr(pFile))
	if rc != sqlite3.SQLITE_OK || flags&sqlite3.SQLITE_OPEN_WAL == 0 || f.FpMethods == 0 {
		return rc
	}
	walMu.Lock()
	if baseIOp == 0 {
		baseIOp = f.FpMethods
		baseIO = *(*sqlite3.Tsqlite3_io_methods)(cptr(baseIOp))
		walIO = baseIO
		walIO.FxClose = fnptr(walClose)
		walIO.FxRead = fnptr(walRead)
		walIO.FxWrite = fnptr(walWrite)
		walIO.FxTruncate = fnptr(walTruncate)
		walIO.FxSync = fnptr(walSync)
		walIO.FxFileSize = fnptr(walFileSize)
	}
	same := f.FpMethods == baseIOp
	walMu.Unlock()
	if same {
		w := shimState(pFile)
		*w = walFile{readOff: -1}
		fd := (*sqlite3.TunixFile)(cptr(pFile)).Fh
		addr, _, errno := syscall.Syscall6(syscall.SYS_MMAP, 0, walMapSize, syscall.PROT_READ, syscall.MAP_SHARED, uintptr(fd), 0)
		if errno == 0 {
			w.mapped = addr
		}
		f.FpMethods = uintptr(unsafe.Pointer(&walIO))
	}
	return rc
}

// grow notes that the file holds at least end bytes.
func (w *walFile) grow(end int64) {
	if end > w.size {
		w.size = end
	}
}

// copyMapped copies n bytes of the mapping at off to dst. It reports false
// when the copy faulted (the file shrank under the mapping: another process
// truncated the WAL), and the caller then reads with pread.
func (w *walFile) copyMapped(dst uintptr, off int64, n int32) (ok bool) {
	old := debug.SetPanicOnFault(true)
	defer func() {
		debug.SetPanicOnFault(old)
		if recover() != nil {
			ok, w.size = false, 0
		}
	}()
	copy(unsafe.Slice((*byte)(cptr(dst)), n), unsafe.Slice((*byte)(cptr(w.mapped+uintptr(off))), n))
	return true
}

// flush writes the staged frames and a header held back, if any.
func flush(tls *libc.TLS, pFile uintptr) int32 {
	w := shimState(pFile)
	w.readOff = -1
	if rc := w.writeStage(tls, pFile); rc != sqlite3.SQLITE_OK {
		w.pending = 0
		return rc
	}
	if w.pending == 0 {
		return sqlite3.SQLITE_OK
	}
	w.pending = 0
	return w.writeThrough(tls, pFile, uintptr(unsafe.Pointer(&w.hdr[0])), walFrameHeader, w.hdrOff)
}

// writeThrough writes with the unix VFS, which retries short writes and
// reports errors as SQLite expects.
func (w *walFile) writeThrough(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	rc := call[rwFn](baseIO.FxWrite)(tls, pFile, pBuf, amt, off)
	if rc == sqlite3.SQLITE_OK {
		w.grow(off + int64(amt))
	}
	return rc
}

// maxWrite is the most the unix VFS writes with one call: it masks the size
// of each pwrite with 0x1ffff, so a larger write would be cut short (and a
// multiple of 128 KiB reported as a full disk).
const maxWrite = 0x1ffff &^ 4095

// writeStage writes the staged frames, if any, in writes of at most maxWrite
// bytes.
func (w *walFile) writeStage(tls *libc.TLS, pFile uintptr) int32 {
	n := w.stLen
	w.stLen = 0
	for done := int64(0); done < n; {
		chunk := min(n-done, maxWrite)
		stagedWrites.Add(1)
		if rc := w.writeThrough(tls, pFile, w.stage+uintptr(done), int32(chunk), w.stOff+done); rc != sqlite3.SQLITE_OK {
			return rc
		}
		done += chunk
	}
	return sqlite3.SQLITE_OK
}

func walWrite(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	w := shimState(pFile)
	if w.pending != 0 && off == w.hdrOff+walFrameHeader && amt > 0 {
		staged, rc := w.stageFrame(tls, pFile, pBuf, amt)
		switch {
		case rc != sqlite3.SQLITE_OK:
			w.pending = 0
			return rc
		case staged && w.hdr[4]|w.hdr[5]|w.hdr[6]|w.hdr[7] != 0: // a commit frame
			return w.writeStage(tls, pFile)
		case staged:
			return sqlite3.SQLITE_OK
		}
	}
	afterRead := w.readOff == off
	if amt == walFrameHeader && afterRead {
		headersRewritten.Add(1)
	}
	hold := amt == walFrameHeader && !afterRead
	if hold && w.pending == 0 && w.stLen > 0 && off == w.stOff+w.stLen {
		// The next frame's header: the staged frames wait for it.
	} else if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if hold {
		w.hdr = *(*[walFrameHeader]byte)(cptr(pBuf))
		w.hdrOff, w.pending, w.readOff = off, 1, -1
		return sqlite3.SQLITE_OK
	}
	return w.writeThrough(tls, pFile, pBuf, amt, off)
}

// stageFrame appends the header held back and its page to the staged frames,
// writing those first when the frame does not follow them or does not fit.
// It reports false when the frame cannot be staged (the caller then writes
// it through), and the error of writing the staged frames.
func (w *walFile) stageFrame(tls *libc.TLS, pFile, pBuf uintptr, amt int32) (bool, int32) {
	n := int64(walFrameHeader) + int64(amt)
	if n > walStageSize {
		return false, sqlite3.SQLITE_OK
	}
	if w.stage == 0 {
		addr, _, errno := syscall.Syscall6(syscall.SYS_MMAP, 0, walStageSize, syscall.PROT_READ|syscall.PROT_WRITE,
			syscall.MAP_PRIVATE|syscall.MAP_ANONYMOUS|syscall.MAP_POPULATE, ^uintptr(0), 0)
		if errno != 0 {
			return false, sqlite3.SQLITE_OK
		}
		w.stage = addr
	}
	if w.stLen > 0 && (w.stOff+w.stLen != w.hdrOff || w.stLen+n > walStageSize) {
		if rc := w.writeStage(tls, pFile); rc != sqlite3.SQLITE_OK {
			return false, rc
		}
	}
	if w.stLen == 0 {
		w.stOff = w.hdrOff
	}
	dst := unsafe.Slice((*byte)(cptr(w.stage+uintptr(w.stLen))), n)
	copy(dst, w.hdr[:])
	copy(dst[walFrameHeader:], unsafe.Slice((*byte)(cptr(pBuf)), amt))
	w.stLen += n
	w.pending, w.readOff = 0, -1
	framesStaged.Add(1)
	return true, sqlite3.SQLITE_OK
}

func walRead(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	w := shimState(pFile)
	w.readOff = off
	end := off + int64(amt)
	if w.mapped != 0 && off >= 0 && end <= w.size && end <= walMapSize && w.copyMapped(pBuf, off, amt) {
		mappedReads.Add(1)
		return sqlite3.SQLITE_OK
	}
	rc := call[rwFn](baseIO.FxRead)(tls, pFile, pBuf, amt, off)
	if rc == sqlite3.SQLITE_OK {
		w.grow(end)
	}
	return rc
}

func walTruncate(tls *libc.TLS, pFile uintptr, size int64) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if w := shimState(pFile); size < w.size {
		w.size = size
	}
	return call[truncateFn](baseIO.FxTruncate)(tls, pFile, size)
}

func walSync(tls *libc.TLS, pFile uintptr, flags int32) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return call[syncFn](baseIO.FxSync)(tls, pFile, flags)
}

func walFileSize(tls *libc.TLS, pFile, pSize uintptr) int32 {
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	return call[sizeFn](baseIO.FxFileSize)(tls, pFile, pSize)
}

func walClose(tls *libc.TLS, pFile uintptr) int32 {
	rc := flush(tls, pFile)
	w := shimState(pFile)
	if w.mapped != 0 {
		syscall.Syscall(syscall.SYS_MUNMAP, w.mapped, walMapSize, 0)
		w.mapped = 0
	}
	if w.stage != 0 {
		syscall.Syscall(syscall.SYS_MUNMAP, w.stage, walStageSize, 0)
		w.stage = 0
	}
	if rc2 := call[closeFn](baseIO.FxClose)(tls, pFile); rc == sqlite3.SQLITE_OK {
		rc = rc2
	}
	return rc
}
