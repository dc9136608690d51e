// Package sqlite opens packhouse's metadata in an embedded SQLite database
// (modernc.org/sqlite: pure Go, so the binary stays static and builds on
// every OS without cgo).
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/packhouse/packhouse/internal/meta/sqlmeta"
)

// Dialect is SQLite's.
var Dialect = sqlmeta.Dialect{
	Name:     "sqlite",
	ID:       "INTEGER PRIMARY KEY AUTOINCREMENT",
	Bool:     "BOOLEAN",
	Bytes:    "BLOB",
	IsUnique: isUnique,
}

func isUnique(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

// Open opens (creating if needed) the database at path.
//
// WAL lets readers run beside the one writer; synchronous=FULL makes every
// commit durable before the client is told it succeeded (concurrent pushes
// are grouped into one transaction, which keeps that affordable). Writes go
// through a pool of one connection with BEGIN IMMEDIATE, so that two
// writers queue instead of failing to upgrade a read lock.
func Open(ctx context.Context, path string) (*sqlmeta.Store, error) {
	pragmas := "_pragma=journal_mode(WAL)&_pragma=busy_timeout(30000)&_pragma=foreign_keys(1)&_pragma=synchronous(FULL)"
	dsn := "file:" + (&url.URL{Path: path}).EscapedPath() + "?" + pragmas
	write, err := sql.Open("sqlite", dsn+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	read, err := sql.Open("sqlite", dsn+"&_pragma=query_only(1)")
	if err != nil {
		write.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	s, err := sqlmeta.New(ctx, write, read, Dialect)
	if err != nil {
		write.Close()
		read.Close()
		return nil, fmt.Errorf("open %s: %w", path, err)
	}
	return s, nil
}
