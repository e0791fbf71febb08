//go:build linux && (amd64 || arm64)

package sqlitestore_test

import (
	"database/sql"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/idemgen/idemgen/runtime/store/sqlitestore"
)

// TestWALShimCrashImages writes through walVFS, with a page cache small enough
// that transactions spill and SQLite rewrites frames it already wrote (and
// their checksums), and after every commit copies the database and its WAL
// as a crash would leave them: SQLite's own VFS recovers each image from the
// WAL's checksums and finds every committed row, so no frame header was
// still held back when a commit returned. The pages the small cache drops are
// read back from the WAL through the shim's mapping.
func TestWALShimCrashImages(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "shim.db")
	db := openShim(t, path, "&_pragma=cache_size(8)")
	frames, writes := sqlitestore.FramesStaged()
	rewritten, mapped := sqlitestore.HeadersRewritten(), sqlitestore.MappedReads()
	rng := rand.New(rand.NewPCG(1, 2))
	rows := 0
	for txn := range 12 {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		n := 5
		if txn%4 == 3 {
			n = 400 // spills the 8-page cache, then updates pages already in the WAL
		}
		for range n {
			v := make([]byte, 200+rng.IntN(1500))
			for i := range v {
				v[i] = byte(rng.Uint32())
			}
			if _, err := tx.Exec(`INSERT INTO t (k, v) VALUES (?, ?)`, fmt.Sprintf("%016x", rng.Uint64()), v); err != nil {
				t.Fatal(err)
			}
			rows++
			if _, err := tx.Exec(`UPDATE t SET v = v || x'00' WHERE id = ?`, 1+rng.IntN(rows)); err != nil {
				t.Fatal(err)
			}
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		checkImage(t, crashImage(t, path, filepath.Join(dir, fmt.Sprint("img", txn))), rows)
	}
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("integrity_check through the shim: %q, %v", ok, err)
	}
	if sqlitestore.MappedReads() == mapped {
		t.Error("no WAL read was served from the mapping")
	}
	frames2, writes2 := sqlitestore.FramesStaged()
	if writes2-writes >= frames2-frames {
		t.Errorf("%d WAL frames staged in %d writes: want fewer writes than frames", frames2-frames, writes2-writes)
	}
	if sqlitestore.HeadersRewritten() == rewritten {
		t.Error("SQLite rewrote no frame header: the spilling transactions did not exercise walRewriteChecksums")
	}
}

// checkImage opens a crash image with SQLite's default VFS and checks it.
func checkImage(t *testing.T, path string, rows int) {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRow(`PRAGMA integrity_check`).Scan(&ok); err != nil || ok != "ok" {
		t.Fatalf("%s: integrity_check %q, %v", path, ok, err)
	}
	var n int
	if err := db.QueryRow(`SELECT count(*) FROM t`).Scan(&n); err != nil || n != rows {
		t.Fatalf("%s: %d rows (%v), want %d", path, n, err, rows)
	}
}

// TestWALShimLargeCommit commits transactions of 1 to 400 pages through
// walVFS (the unix VFS writes at most 128 KiB less one byte per call, and
// the shim stages up to 1 MiB) and reads every row back through SQLite's own
// VFS from a crash image.
func TestWALShimLargeCommit(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "big.db")
	db := openShim(t, path, "")
	rows := 0
	for _, pages := range []int{1, 31, 32, 33, 64, 100, 257, 400} {
		tx, err := db.Begin()
		if err != nil {
			t.Fatal(err)
		}
		for i := range pages {
			if _, err := tx.Exec(`INSERT INTO t (k, v) VALUES (?, zeroblob(3000))`, fmt.Sprint(pages, "/", i)); err != nil {
				t.Fatal(err)
			}
			rows++
		}
		if err := tx.Commit(); err != nil {
			t.Fatalf("commit of %d rows of 3000 bytes: %v", pages, err)
		}
	}
	checkImage(t, crashImage(t, path, filepath.Join(dir, "img")), rows)
}

// openShim opens the database at path through walVFS, in WAL mode without
// automatic checkpoints, with more DSN parameters, and creates table t.
func openShim(t *testing.T, path, params string) *sql.DB {
	t.Helper()
	name, err := sqlitestore.WALVFS()
	if err != nil {
		t.Fatal(err)
	}
	db, err := sql.Open("sqlite", "file:"+path+"?vfs="+name+
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=wal_autocheckpoint(0)"+params)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(`CREATE TABLE t (id INTEGER PRIMARY KEY, k TEXT UNIQUE, v BLOB)`); err != nil {
		t.Fatal(err)
	}
	return db
}

// crashImage copies the database at path and its WAL into the new directory
// dir, as a crash would leave them, and returns the copy's path.
func crashImage(t *testing.T, path, dir string) string {
	t.Helper()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	img := filepath.Join(dir, filepath.Base(path))
	for _, suffix := range []string{"", "-wal"} {
		copyFile(t, path+suffix, img+suffix)
	}
	return img
}
