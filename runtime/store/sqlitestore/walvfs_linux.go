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
// unix VFS, except that a WAL file writes each frame (its 24-byte header and
// its page) with one pwritev instead of two pwrite calls. SQLite writes a
// frame's header and then its page at the next offset (walWriteOneFrame); the
// shim holds the header back and writes both when the page comes, or writes
// the header alone before any other operation on the file (a read, a write
// elsewhere, a sync, a truncate, a size query, a close). A header that
// follows a read of its own frame (SQLite rewriting the checksums of frames
// already written, walRewriteChecksums) is written at once, so no header is
// ever held back when SQLite publishes a commit in the WAL index. Files other
// than WAL files, and everything but writes, are the unix VFS's own.
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
}

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

// flush writes a header held back, if any.
func flush(tls *libc.TLS, pFile uintptr) int32 {
	w := shimState(pFile)
	w.readOff = -1
	if w.pending == 0 {
		return sqlite3.SQLITE_OK
	}
	w.pending = 0
	rc := call[rwFn](baseIO.FxWrite)(tls, pFile, uintptr(unsafe.Pointer(&w.hdr[0])), walFrameHeader, w.hdrOff)
	if rc == sqlite3.SQLITE_OK {
		w.grow(w.hdrOff + walFrameHeader)
	}
	return rc
}

func walWrite(tls *libc.TLS, pFile, pBuf uintptr, amt int32, off int64) int32 {
	w := shimState(pFile)
	if w.pending != 0 && off == w.hdrOff+walFrameHeader && amt > 0 {
		w.pending, w.readOff = 0, -1
		return writeFrame(tls, pFile, w, pBuf, amt)
	}
	afterRead := w.readOff == off
	if rc := flush(tls, pFile); rc != sqlite3.SQLITE_OK {
		return rc
	}
	if amt == walFrameHeader && afterRead {
		headersRewritten.Add(1)
	}
	if amt == walFrameHeader && !afterRead {
		w.hdr = *(*[walFrameHeader]byte)(cptr(pBuf))
		w.hdrOff, w.pending = off, 1
		return sqlite3.SQLITE_OK
	}
	rc := call[rwFn](baseIO.FxWrite)(tls, pFile, pBuf, amt, off)
	if rc == sqlite3.SQLITE_OK {
		w.grow(off + int64(amt))
	}
	return rc
}

// writeFrame writes the header held back and the page at pBuf with one
// pwritev; on a short write or an error it leaves the rest to the unix VFS's
// write, which retries, or reports the error as SQLite expects.
func writeFrame(tls *libc.TLS, pFile uintptr, w *walFile, pBuf uintptr, amt int32) int32 {
	fd := (*sqlite3.TunixFile)(cptr(pFile)).Fh
	iov := [2]syscall.Iovec{
		{Base: &w.hdr[0], Len: walFrameHeader},
		{Base: (*byte)(cptr(pBuf)), Len: uint64(amt)},
	}
	total := int64(walFrameHeader) + int64(amt)
	n, _, errno := syscall.Syscall6(syscall.SYS_PWRITEV, uintptr(fd), uintptr(unsafe.Pointer(&iov[0])), 2, uintptr(w.hdrOff), 0, 0)
	if errno == 0 && int64(n) == total {
		framesCombined.Add(1)
		w.grow(w.hdrOff + total)
		return sqlite3.SQLITE_OK
	}
	done := int64(0)
	if errno == 0 {
		done = int64(n)
	}
	write := call[rwFn](baseIO.FxWrite)
	if done < walFrameHeader {
		rest := walFrameHeader - int32(done)
		if rc := write(tls, pFile, uintptr(unsafe.Pointer(&w.hdr[done])), rest, w.hdrOff+done); rc != sqlite3.SQLITE_OK {
			return rc
		}
		done = walFrameHeader
	}
	skip := done - walFrameHeader
	rc := write(tls, pFile, pBuf+uintptr(skip), amt-int32(skip), w.hdrOff+done)
	if rc == sqlite3.SQLITE_OK {
		w.grow(w.hdrOff + total)
	}
	return rc
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
	if w := shimState(pFile); w.mapped != 0 {
		syscall.Syscall(syscall.SYS_MUNMAP, w.mapped, walMapSize, 0)
		w.mapped = 0
	}
	if rc2 := call[closeFn](baseIO.FxClose)(tls, pFile); rc == sqlite3.SQLITE_OK {
		rc = rc2
	}
	return rc
}
