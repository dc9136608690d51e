// Package sqlmeta implements meta.Store in SQL, once for every database
// packhouse supports: the dialects differ only in how a connection is
// opened, how placeholders are written and two column types.
package sqlmeta

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/packhouse/packhouse/internal/meta"
)

// Dialect is what differs between databases.
type Dialect struct {
	Name string
	// Numbered placeholders ($1, $2, …) instead of "?".
	Numbered bool
	ID       string // column type of an auto-increment primary key
	Bool     string
	Bytes    string // column type of binary data
	// IsUnique reports whether err is a unique-constraint violation.
	IsUnique func(error) bool
}

// Store is meta.Store over database/sql. Writes go through write, reads
// through read; for SQLite these are separate pools so that readers never
// wait behind the single writer.
type Store struct {
	write, read *sql.DB
	d           Dialect
	queries     sync.Map // query written with "?" → query for the dialect
	stmts       sync.Map // stmtKey → *sql.Stmt
	pending     sync.Map // stmtKey → true: missed inside a transaction
}

var _ meta.Store = (*Store)(nil)

// New runs pending migrations and returns the store. write and read may be
// the same pool.
func New(ctx context.Context, write, read *sql.DB, d Dialect) (*Store, error) {
	s := &Store{write: write, read: read, d: d}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

func (s *Store) Close() error {
	s.stmts.Range(func(_, st any) bool {
		st.(*sql.Stmt).Close()
		return true
	})
	err := s.write.Close()
	if s.read != s.write {
		err = errors.Join(err, s.read.Close())
	}
	return err
}

// q rewrites a query written with "?" for the dialect. Rewritten queries
// are kept: they are on every request's path.
func (s *Store) q(query string) string {
	if !s.d.Numbered {
		return query
	}
	if r, ok := s.queries.Load(query); ok {
		return r.(string)
	}
	var b strings.Builder
	n := 0
	for _, c := range query {
		if c == '?' {
			n++
			b.WriteString("$" + strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	s.queries.Store(query, b.String())
	return b.String()
}

// Prepared statements, one per query text and pool. Parsing SQL costs
// more than running these small queries; a push of 10,000 packages runs
// tens of thousands of them. Inside a transaction, Tx.StmtContext reuses
// the statement already prepared on the transaction's connection.
func (s *Store) stmt(ctx context.Context, db *sql.DB, query string) (*sql.Stmt, error) {
	key := stmtKey{db, query}
	if st, ok := s.stmts.Load(key); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := db.PrepareContext(ctx, s.q(query))
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.stmts.LoadOrStore(key, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

type stmtKey struct {
	db    *sql.DB
	query string
}

// cached returns the prepared statement for query on db if there is one.
// Inside a transaction a statement cannot be prepared on the pool: the
// transaction may hold its only connection (SQLite's write pool has one).
// A miss runs unprepared and is prepared when the transaction is over.
func (s *Store) cached(db *sql.DB, query string) *sql.Stmt {
	if st, ok := s.stmts.Load(stmtKey{db, query}); ok {
		return st.(*sql.Stmt)
	}
	s.pending.Store(stmtKey{db, query}, true)
	return nil
}

// prepare prepares the statements transactions missed.
func (s *Store) prepare(ctx context.Context) {
	s.pending.Range(func(k, _ any) bool {
		key := k.(stmtKey)
		s.pending.Delete(k)
		s.stmt(ctx, key.db, key.query)
		return true
	})
}

func (s *Store) txExec(ctx context.Context, tx *sql.Tx, query string, args ...any) (sql.Result, error) {
	if st := s.cached(s.write, query); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, s.q(query), args...)
}

// rowScanner is what a single-row query returns: a row, or the error of
// preparing it.
type rowScanner interface{ Scan(...any) error }

type errRow struct{ err error }

func (e errRow) Scan(...any) error { return e.err }

func (s *Store) txRow(ctx context.Context, tx *sql.Tx, query string, args ...any) rowScanner {
	return s.txRowOn(ctx, s.write, tx, query, args...)
}

// txRowOn is txRow for a transaction of pool db.
func (s *Store) txRowOn(ctx context.Context, db *sql.DB, tx *sql.Tx, query string, args ...any) rowScanner {
	if st := s.cached(db, query); st != nil {
		return tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return tx.QueryRowContext(ctx, s.q(query), args...)
}

// txQuery runs a query in a read transaction (of the read pool).
func (s *Store) txQuery(ctx context.Context, tx *sql.Tx, query string, args ...any) (*sql.Rows, error) {
	if st := s.cached(s.read, query); st != nil {
		return tx.StmtContext(ctx, st).QueryContext(ctx, args...)
	}
	return tx.QueryContext(ctx, s.q(query), args...)
}

func (s *Store) readRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := s.stmt(ctx, s.read, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *Store) readQuery(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.stmt(ctx, s.read, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

func (s *Store) writeRow(ctx context.Context, query string, args ...any) rowScanner {
	st, err := s.stmt(ctx, s.write, query)
	if err != nil {
		return errRow{err}
	}
	return st.QueryRowContext(ctx, args...)
}

func (s *Store) writeExec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := s.stmt(ctx, s.write, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

func (s *Store) migrate(ctx context.Context) error {
	if _, err := s.write.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied BIGINT NOT NULL)`); err != nil {
		return fmt.Errorf("migrations table: %w", err)
	}
	for i, m := range migrations {
		version := i + 1
		err := s.tx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, s.q(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`), version).Scan(&n); err != nil {
				return err
			}
			if n > 0 {
				return nil
			}
			m = strings.NewReplacer("{{id}}", s.d.ID, "{{bool}}", s.d.Bool, "{{bytes}}", s.d.Bytes).Replace(m)
			for _, stmt := range strings.Split(m, ";") {
				if strings.TrimSpace(stmt) == "" {
					continue
				}
				if _, err := tx.ExecContext(ctx, stmt); err != nil {
					return fmt.Errorf("%s: %w", strings.TrimSpace(stmt), err)
				}
			}
			_, err := tx.ExecContext(ctx, s.q(`INSERT INTO schema_migrations (version, applied) VALUES (?, ?)`), version, time.Now().Unix())
			return err
		})
		if err != nil {
			return fmt.Errorf("migration %d: %w", version, err)
		}
	}
	return nil
}

func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	defer s.prepare(ctx)
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		tx.Rollback()
		return err
	}
	return tx.Commit()
}

// readTx runs fn in a read-only transaction of the read pool, so that
// several queries see one state.
func (s *Store) readTx(ctx context.Context, fn func(*sql.Tx) error) error {
	defer s.prepare(ctx)
	tx, err := s.read.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return err
	}
	defer tx.Rollback()
	return fn(tx)
}

func nanos(t time.Time) int64     { return t.UnixNano() }
func fromNanos(n int64) time.Time { return time.Unix(0, n).UTC() }

func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%s: %w", what, meta.ErrNotFound)
	}
	return err
}

func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// Projects

func (s *Store) CreateProject(ctx context.Context, name, defaultBranch string) (meta.Project, error) {
	p := meta.Project{Name: name, DefaultBranch: defaultBranch, Created: time.Now().UTC()}
	err := s.writeRow(ctx, (`INSERT INTO projects (name, default_branch, created) VALUES (?, ?, ?) RETURNING id`),
		name, defaultBranch, nanos(p.Created)).Scan(&p.ID)
	if err != nil && s.d.IsUnique(err) {
		return p, fmt.Errorf("project %q: %w", name, meta.ErrExists)
	}
	return p, err
}

const projectCols = `id, name, default_branch, created`

func scanProject(row rowScanner) (meta.Project, error) {
	var p meta.Project
	var created int64
	err := row.Scan(&p.ID, &p.Name, &p.DefaultBranch, &created)
	p.Created = fromNanos(created)
	return p, err
}

func (s *Store) Project(ctx context.Context, name string) (meta.Project, error) {
	p, err := scanProject(s.readRow(ctx, (`SELECT ` + projectCols + ` FROM projects WHERE name = ?`), name))
	return p, notFound(err, "project "+strconv.Quote(name))
}

func (s *Store) Projects(ctx context.Context) ([]meta.Project, error) {
	rows, err := s.readQuery(ctx, `SELECT `+projectCols+` FROM projects ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Project
	for rows.Next() {
		p, err := scanProject(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

// Repositories

func (s *Store) CreateRepository(ctx context.Context, name string, archs []string) (meta.Repository, error) {
	r := meta.Repository{Name: name, Architectures: archs, Created: time.Now().UTC()}
	err := s.writeRow(ctx, (`INSERT INTO repositories (name, architectures, created) VALUES (?, ?, ?) RETURNING id`),
		name, strings.Join(archs, " "), nanos(r.Created)).Scan(&r.ID)
	if err != nil && s.d.IsUnique(err) {
		return r, fmt.Errorf("repository %q: %w", name, meta.ErrExists)
	}
	return r, err
}

func (s *Store) AddRepositoryProject(ctx context.Context, repo, project string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var rid, pid int64
		if err := s.txRow(ctx, tx, (`SELECT id FROM repositories WHERE name = ?`), repo).Scan(&rid); err != nil {
			return notFound(err, "repository "+strconv.Quote(repo))
		}
		if err := s.txRow(ctx, tx, (`SELECT id FROM projects WHERE name = ?`), project).Scan(&pid); err != nil {
			return notFound(err, "project "+strconv.Quote(project))
		}
		_, err := s.txExec(ctx, tx, (`INSERT INTO repository_projects (repository_id, project_id) VALUES (?, ?) ON CONFLICT DO NOTHING`), rid, pid)
		return err
	})
}

func (s *Store) Repository(ctx context.Context, name string) (meta.Repository, error) {
	repos, err := s.repositories(ctx, `WHERE r.name = ?`, name)
	if err != nil {
		return meta.Repository{}, err
	}
	if len(repos) == 0 {
		return meta.Repository{}, fmt.Errorf("repository %q: %w", name, meta.ErrNotFound)
	}
	return repos[0], nil
}

func (s *Store) Repositories(ctx context.Context) ([]meta.Repository, error) {
	return s.repositories(ctx, "")
}

func (s *Store) repositories(ctx context.Context, where string, args ...any) ([]meta.Repository, error) {
	rows, err := s.readQuery(ctx, (`SELECT r.id, r.name, r.architectures, r.created, COALESCE(p.name, '')
		FROM repositories r
		LEFT JOIN repository_projects rp ON rp.repository_id = r.id
		LEFT JOIN projects p ON p.id = rp.project_id ` + where + `
		ORDER BY r.name, p.name`), args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Repository
	for rows.Next() {
		var r meta.Repository
		var archs, project string
		var created int64
		if err := rows.Scan(&r.ID, &r.Name, &archs, &created, &project); err != nil {
			return nil, err
		}
		if n := len(out); n == 0 || out[n-1].ID != r.ID {
			r.Architectures = splitList(archs)
			r.Created = fromNanos(created)
			out = append(out, r)
		}
		if project != "" {
			last := &out[len(out)-1]
			last.Projects = append(last.Projects, project)
		}
	}
	return out, rows.Err()
}

// Branches and views

func (s *Store) Branches(ctx context.Context, projectID int64) ([]meta.Branch, error) {
	rows, err := s.readQuery(ctx, (`SELECT b.id, b.project_id, b.name, b.gen, b.created, b.updated,
			(SELECT COUNT(*) FROM branch_packages bp WHERE bp.branch_id = b.id)
		FROM branches b WHERE b.project_id = ? ORDER BY b.name`), projectID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Branch
	for rows.Next() {
		var b meta.Branch
		var created, updated int64
		if err := rows.Scan(&b.ID, &b.ProjectID, &b.Name, &b.Gen, &created, &updated, &b.Packages); err != nil {
			return nil, err
		}
		b.Created, b.Updated = fromNanos(created), fromNanos(updated)
		out = append(out, b)
	}
	return out, rows.Err()
}

func (s *Store) Sources(ctx context.Context, repositoryID int64, branch string) ([]meta.Source, error) {
	rows, err := s.readQuery(ctx, (`SELECT p.id, p.name, p.default_branch, bd.id, bd.gen, bo.id, bo.gen
		FROM repository_projects rp
		JOIN projects p ON p.id = rp.project_id
		LEFT JOIN branches bd ON bd.project_id = p.id AND bd.name = p.default_branch
		LEFT JOIN branches bo ON bo.project_id = p.id AND bo.name = ? AND bo.name <> p.default_branch
		WHERE rp.repository_id = ?
		ORDER BY p.name`), branch, repositoryID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Source
	for rows.Next() {
		var src meta.Source
		var did, dgen, oid, ogen sql.NullInt64
		if err := rows.Scan(&src.ProjectID, &src.Project, &src.DefaultBranch, &did, &dgen, &oid, &ogen); err != nil {
			return nil, err
		}
		if did.Valid {
			src.Default = &meta.BranchRef{ID: did.Int64, Gen: dgen.Int64}
		}
		if oid.Valid {
			src.Overlay = &meta.BranchRef{ID: oid.Int64, Gen: ogen.Int64}
		}
		out = append(out, src)
	}
	return out, rows.Err()
}

func (s *Store) Entries(ctx context.Context, branchID int64) ([]meta.Entry, int64, error) {
	var out []meta.Entry
	var gen int64
	// One read transaction, so that the generation matches the rows.
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		if err := s.txRowOn(ctx, s.read, tx, `SELECT gen FROM branches WHERE id = ?`, branchID).Scan(&gen); err != nil {
			return notFound(err, "branch")
		}
		rows, err := s.txQuery(ctx, tx, `SELECT package_id, sha256, format, name, version, arch
			FROM branch_packages WHERE branch_id = ?`, branchID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var e meta.Entry
			if err := rows.Scan(&e.PackageID, &e.SHA256, &e.Format, &e.Name, &e.Version, &e.Arch); err != nil {
				return err
			}
			out = append(out, e)
		}
		return rows.Err()
	})
	return out, gen, err
}

func (s *Store) Log(ctx context.Context, branchID, since int64) ([]meta.LogEntry, error) {
	var out []meta.LogEntry
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var gen int64
		if err := s.txRowOn(ctx, s.read, tx, `SELECT gen FROM branches WHERE id = ?`, branchID).Scan(&gen); err != nil {
			return notFound(err, "branch")
		}
		if gen == since {
			return nil
		}
		rows, err := s.txQuery(ctx, tx, `SELECT l.gen, l.added, l.package_id, p.sha256, p.format, p.name, p.version, p.arch
			FROM branch_log l JOIN packages p ON p.id = l.package_id
			WHERE l.branch_id = ? AND l.gen > ? ORDER BY l.gen`, branchID, since)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var l meta.LogEntry
			if err := rows.Scan(&l.Gen, &l.Added, &l.Entry.PackageID, &l.Entry.SHA256, &l.Entry.Format, &l.Entry.Name, &l.Entry.Version, &l.Entry.Arch); err != nil {
				return err
			}
			out = append(out, l)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		// Every generation since must be there; a pruned log cannot be replayed.
		if len(out) == 0 || out[0].Gen != since+1 || out[len(out)-1].Gen != gen {
			return fmt.Errorf("branch log from generation %d: %w", since, meta.ErrNotFound)
		}
		return nil
	})
	return out, err
}

// Packages

const packageCols = `id, sha256, size, md5, sha1, sha512, format, name, version, arch, control, filename, created`

func scanPackage(row rowScanner) (meta.Package, error) {
	var p meta.Package
	var created int64
	err := row.Scan(&p.ID, &p.SHA256, &p.Size, &p.MD5, &p.SHA1, &p.SHA512, &p.Format, &p.Name, &p.Version, &p.Arch, &p.Control, &p.Filename, &created)
	p.Created = fromNanos(created)
	return p, err
}

func (s *Store) PackageBySHA256(ctx context.Context, sha256 string) (meta.Package, error) {
	p, err := scanPackage(s.readRow(ctx, (`SELECT ` + packageCols + ` FROM packages WHERE sha256 = ?`), sha256))
	return p, notFound(err, "package "+sha256)
}

func (s *Store) HasPackages(ctx context.Context, sha256s []string) (map[string]bool, error) {
	return s.which(ctx, `SELECT sha256 FROM packages WHERE sha256 IN (?)`, sha256s)
}

// which runs query, which selects one column of keys "IN (?)", and says
// which of keys it found.
func (s *Store) which(ctx context.Context, query string, keys []string) (map[string]bool, error) {
	out := make(map[string]bool, len(keys))
	err := s.inList(ctx, query, keys, func(rows *sql.Rows) error {
		var k string
		if err := rows.Scan(&k); err != nil {
			return err
		}
		out[k] = true
		return nil
	})
	return out, err
}

func (s *Store) PackagesByID(ctx context.Context, ids []int64) ([]meta.Package, error) {
	out := make([]meta.Package, 0, len(ids))
	// Bounded IN lists: every database has a limit on parameters.
	for len(ids) > 0 {
		n := min(len(ids), 500)
		args := make([]any, n)
		for i, id := range ids[:n] {
			args[i] = id
		}
		rows, err := s.readQuery(ctx, (`SELECT ` + packageCols + ` FROM packages WHERE id IN (?` + strings.Repeat(",?", n-1) + `)`), args...)
		if err != nil {
			return nil, err
		}
		for rows.Next() {
			p, err := scanPackage(rows)
			if err != nil {
				rows.Close()
				return nil, err
			}
			out = append(out, p)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

func (s *Store) BranchPackages(ctx context.Context, projectID int64, branch string) ([]meta.Package, error) {
	rows, err := s.readQuery(ctx, (`SELECT p.id, p.sha256, p.size, p.md5, p.sha1, p.sha512, p.format, p.name, p.version, p.arch, p.control, p.filename, p.created
		FROM branches b JOIN branch_packages bp ON bp.branch_id = b.id JOIN packages p ON p.id = bp.package_id
		WHERE b.project_id = ? AND b.name = ?
		ORDER BY p.name, p.arch, p.version`), projectID, branch)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Package
	for rows.Next() {
		p, err := scanPackage(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return out, rows.Err()
}

func (s *Store) Link(ctx context.Context, reqs []meta.LinkRequest) ([]meta.LinkResult, error) {
	results := make([]meta.LinkResult, len(reqs))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		now := nanos(time.Now())
		branches := map[string]int64{}
		for i, req := range reqs {
			r, err := s.link(ctx, tx, req, now, branches)
			if err != nil {
				return err
			}
			results[i] = r
		}
		return nil
	})
	return results, err
}

func (s *Store) branchID(ctx context.Context, tx *sql.Tx, projectID int64, name string, now int64, cache map[string]int64) (int64, error) {
	key := strconv.FormatInt(projectID, 10) + "/" + name
	if id, ok := cache[key]; ok {
		return id, nil
	}
	var id int64
	err := s.txRow(ctx, tx, (`SELECT id FROM branches WHERE project_id = ? AND name = ?`), projectID, name).Scan(&id)
	if errors.Is(err, sql.ErrNoRows) {
		err = s.txRow(ctx, tx, (`INSERT INTO branches (project_id, name, gen, created, updated) VALUES (?, ?, 0, ?, ?) RETURNING id`),
			projectID, name, now, now).Scan(&id)
	}
	if err != nil {
		return 0, err
	}
	cache[key] = id
	return id, nil
}

// bump advances a branch's generation and logs the change under it.
func (s *Store) bump(ctx context.Context, tx *sql.Tx, branchID int64, added bool, packageID, now int64) error {
	var gen int64
	if err := s.txRow(ctx, tx, (`UPDATE branches SET gen = gen + 1, updated = ? WHERE id = ? RETURNING gen`), now, branchID).Scan(&gen); err != nil {
		return err
	}
	_, err := s.txExec(ctx, tx, (`INSERT INTO branch_log (branch_id, gen, added, package_id, at) VALUES (?, ?, ?, ?, ?)`), branchID, gen, added, packageID, now)
	return err
}

func (s *Store) link(ctx context.Context, tx *sql.Tx, req meta.LinkRequest, now int64, branches map[string]int64) (meta.LinkResult, error) {
	var res meta.LinkResult
	sha := req.SHA256
	if req.New != nil {
		sha = req.New.SHA256
		p := req.New
		r, err := s.txExec(ctx, tx, (`INSERT INTO packages (sha256, size, md5, sha1, sha512, format, name, version, arch, control, filename, created)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING`),
			p.SHA256, p.Size, p.MD5, p.SHA1, p.SHA512, p.Format, p.Name, p.Version, p.Arch, p.Control, p.Filename, now)
		if err != nil {
			return res, err
		}
		if n, _ := r.RowsAffected(); n == 1 {
			res.Status = meta.Stored
		}
	}
	pkg, err := scanPackage(s.txRow(ctx, tx, (`SELECT ` + packageCols + ` FROM packages WHERE sha256 = ?`), sha))
	if errors.Is(err, sql.ErrNoRows) {
		return meta.LinkResult{Status: meta.Missing}, nil
	}
	if err != nil {
		return res, err
	}
	res.Package = pkg
	if res.Status == "" {
		res.Status = meta.Linked
	}
	bid, err := s.branchID(ctx, tx, req.ProjectID, req.Branch, now, branches)
	if err != nil {
		return res, err
	}
	var other int64
	err = s.txRow(ctx, tx, (`SELECT package_id FROM branch_packages WHERE branch_id = ? AND format = ? AND name = ? AND arch = ? AND version = ?`),
		bid, pkg.Format, pkg.Name, pkg.Arch, pkg.Version).Scan(&other)
	switch {
	case err == nil && other == pkg.ID:
		res.Status = meta.Present
		return res, nil
	case err == nil && !req.Replace:
		existing, err := scanPackage(s.txRow(ctx, tx, (`SELECT ` + packageCols + ` FROM packages WHERE id = ?`), other))
		if err != nil {
			return res, err
		}
		res.Status, res.Existing = meta.Conflict, &existing
		return res, nil
	case err == nil:
		if _, err := s.txExec(ctx, tx, (`DELETE FROM branch_packages WHERE branch_id = ? AND package_id = ?`), bid, other); err != nil {
			return res, err
		}
		if err := s.bump(ctx, tx, bid, false, other, now); err != nil {
			return res, err
		}
	case !errors.Is(err, sql.ErrNoRows):
		return res, err
	}
	if _, err := s.txExec(ctx, tx, (`INSERT INTO branch_packages (branch_id, package_id, sha256, format, name, version, arch, added) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`),
		bid, pkg.ID, pkg.SHA256, pkg.Format, pkg.Name, pkg.Version, pkg.Arch, now); err != nil {
		return res, err
	}
	return res, s.bump(ctx, tx, bid, true, pkg.ID, now)
}

func (s *Store) Unlink(ctx context.Context, projectID int64, branch, sha256 string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var bid, pid int64
		err := s.txRow(ctx, tx, (`SELECT b.id, p.id FROM branches b
			JOIN branch_packages bp ON bp.branch_id = b.id
			JOIN packages p ON p.id = bp.package_id
			WHERE b.project_id = ? AND b.name = ? AND p.sha256 = ?`), projectID, branch, sha256).Scan(&bid, &pid)
		if err != nil {
			return notFound(err, "package "+sha256+" in branch "+strconv.Quote(branch))
		}
		if _, err := s.txExec(ctx, tx, (`DELETE FROM branch_packages WHERE branch_id = ? AND package_id = ?`), bid, pid); err != nil {
			return err
		}
		return s.bump(ctx, tx, bid, false, pid, nanos(time.Now()))
	})
}

// Tokens

func (s *Store) CreateToken(ctx context.Context, t meta.Token) (meta.Token, error) {
	t.Created = time.Now().UTC()
	projects := append([]string(nil), t.Projects...)
	sort.Strings(projects)
	err := s.writeRow(ctx, (`INSERT INTO tokens (hash, kind, projects, description, created) VALUES (?, ?, ?, ?, ?) RETURNING id`),
		t.Hash, string(t.Kind), strings.Join(projects, " "), t.Description, nanos(t.Created)).Scan(&t.ID)
	if err != nil && s.d.IsUnique(err) {
		return t, fmt.Errorf("token: %w", meta.ErrExists)
	}
	return t, err
}

const tokenCols = `id, hash, kind, projects, description, created`

func scanToken(row rowScanner) (meta.Token, error) {
	var t meta.Token
	var kind, projects string
	var created int64
	err := row.Scan(&t.ID, &t.Hash, &kind, &projects, &t.Description, &created)
	t.Kind, t.Projects, t.Created = meta.TokenKind(kind), splitList(projects), fromNanos(created)
	return t, err
}

func (s *Store) TokenByHash(ctx context.Context, hash string) (meta.Token, error) {
	t, err := scanToken(s.readRow(ctx, (`SELECT ` + tokenCols + ` FROM tokens WHERE hash = ?`), hash))
	return t, notFound(err, "token")
}

func (s *Store) Tokens(ctx context.Context) ([]meta.Token, error) {
	rows, err := s.readQuery(ctx, `SELECT `+tokenCols+` FROM tokens ORDER BY id`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []meta.Token
	for rows.Next() {
		t, err := scanToken(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

func (s *Store) DeleteToken(ctx context.Context, id int64) error {
	r, err := s.writeExec(ctx, (`DELETE FROM tokens WHERE id = ?`), id)
	if err != nil {
		return err
	}
	if n, _ := r.RowsAffected(); n == 0 {
		return fmt.Errorf("token %d: %w", id, meta.ErrNotFound)
	}
	return nil
}

// Publications

func (s *Store) Publication(ctx context.Context, repositoryID int64, format, suite string) (meta.Publication, error) {
	p := meta.Publication{RepositoryID: repositoryID, Format: format, Suite: suite, Files: map[string][]byte{}}
	err := s.readTx(ctx, func(tx *sql.Tx) error {
		var date, validUntil int64
		err := s.txRowOn(ctx, s.read, tx, `SELECT inputs, content, date, valid_until FROM publications WHERE repository_id = ? AND format = ? AND suite = ?`,
			repositoryID, format, suite).Scan(&p.Inputs, &p.Content, &date, &validUntil)
		if err != nil {
			return notFound(err, "publication")
		}
		p.Date, p.ValidUntil = fromNanos(date), fromNanos(validUntil)
		rows, err := s.txQuery(ctx, tx, `SELECT path, data FROM publication_files WHERE repository_id = ? AND format = ? AND suite = ?`,
			repositoryID, format, suite)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var path string
			var data []byte
			if err := rows.Scan(&path, &data); err != nil {
				return err
			}
			p.Files[path] = nonNil(data)
		}
		return rows.Err()
	})
	return p, err
}

func (s *Store) Publish(ctx context.Context, p meta.Publication, files []meta.IndexFile, chunks []meta.Chunk, prune time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var date int64
		err := s.txRow(ctx, tx, `SELECT date FROM publications WHERE repository_id = ? AND format = ? AND suite = ?`, p.RepositoryID, p.Format, p.Suite).Scan(&date)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			_, err = s.txExec(ctx, tx, `INSERT INTO publications (repository_id, format, suite, inputs, content, date, valid_until) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				p.RepositoryID, p.Format, p.Suite, p.Inputs, p.Content, nanos(p.Date), nanos(p.ValidUntil))
		case err != nil:
		case date > nanos(p.Date):
			err = fmt.Errorf("publication of %q dated %s, stored one %s: %w", p.Suite, p.Date, fromNanos(date), meta.ErrConflict)
		default:
			_, err = s.txExec(ctx, tx, `UPDATE publications SET inputs = ?, content = ?, date = ?, valid_until = ? WHERE repository_id = ? AND format = ? AND suite = ?`,
				p.Inputs, p.Content, nanos(p.Date), nanos(p.ValidUntil), p.RepositoryID, p.Format, p.Suite)
		}
		if err != nil {
			return err
		}
		if _, err := s.txExec(ctx, tx, `DELETE FROM publication_files WHERE repository_id = ? AND format = ? AND suite = ?`, p.RepositoryID, p.Format, p.Suite); err != nil {
			return err
		}
		paths := make([]string, 0, len(p.Files))
		for path := range p.Files {
			paths = append(paths, path)
		}
		sort.Strings(paths)
		for _, path := range paths {
			if _, err := s.txExec(ctx, tx, `INSERT INTO publication_files (repository_id, format, suite, path, data) VALUES (?, ?, ?, ?, ?)`,
				p.RepositoryID, p.Format, p.Suite, path, nonNil(p.Files[path])); err != nil {
				return err
			}
		}
		now := nanos(time.Now())
		for _, c := range chunks {
			// Empty, not NULL: an empty index is one empty chunk.
			if _, err := s.txExec(ctx, tx, `INSERT INTO index_chunks (key, raw, gz, created) VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING`,
				c.Key, nonNil(c.Raw), nonNil(c.Gz), now); err != nil {
				return err
			}
		}
		// A file is published at the publication's wall-clock time, not
		// its Date, which may stand still: the grace period counts from
		// when a newer publication stopped naming it.
		for _, f := range files {
			_, err := s.txExec(ctx, tx, `INSERT INTO index_files (repository_id, format, suite, path, sha256, size, gzip, chunks, published) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (repository_id, format, suite, sha256, path) DO UPDATE SET published = excluded.published`,
				p.RepositoryID, p.Format, p.Suite, f.Path, f.SHA256, f.Size, f.Gzip, strings.Join(f.Chunks, " "), now)
			if err != nil {
				return err
			}
		}
		_, err = s.txExec(ctx, tx, `DELETE FROM index_files WHERE repository_id = ? AND format = ? AND suite = ? AND published < ?`, p.RepositoryID, p.Format, p.Suite, nanos(prune))
		return err
	})
}

func nonNil(b []byte) []byte {
	if b == nil {
		return []byte{}
	}
	return b
}

const indexFileCols = `repository_id, format, suite, path, sha256, size, gzip, chunks, published`

func scanIndexFile(row rowScanner) (meta.IndexFile, error) {
	var f meta.IndexFile
	var chunks string
	var published int64
	err := row.Scan(&f.RepositoryID, &f.Format, &f.Suite, &f.Path, &f.SHA256, &f.Size, &f.Gzip, &chunks, &published)
	f.Chunks, f.Published = splitList(chunks), fromNanos(published)
	return f, err
}

func (s *Store) IndexFile(ctx context.Context, repositoryID int64, format, suite, dir, sha256 string) (meta.IndexFile, error) {
	f, err := scanIndexFile(s.readRow(ctx, `SELECT `+indexFileCols+` FROM index_files
		WHERE repository_id = ? AND format = ? AND suite = ? AND sha256 = ? AND SUBSTR(path, 1, ?) = ? LIMIT 1`,
		repositoryID, format, suite, sha256, len(dir), dir))
	return f, notFound(err, "index file "+sha256)
}

func (s *Store) CurrentIndexFile(ctx context.Context, repositoryID int64, format, suite, path string) (meta.IndexFile, error) {
	f, err := scanIndexFile(s.readRow(ctx, `SELECT `+indexFileCols+` FROM index_files
		WHERE repository_id = ? AND format = ? AND suite = ? AND path = ? ORDER BY published DESC LIMIT 1`, repositoryID, format, suite, path))
	return f, notFound(err, "index file "+path)
}

// inList runs query, whose last condition is "IN (?)", over keys in
// bounded slices: every database limits the number of parameters.
func (s *Store) inList(ctx context.Context, query string, keys []string, row func(*sql.Rows) error) error {
	for len(keys) > 0 {
		n := min(len(keys), 500)
		args := make([]any, n)
		for i, k := range keys[:n] {
			args[i] = k
		}
		rows, err := s.read.QueryContext(ctx, s.q(strings.Replace(query, "(?)", "(?"+strings.Repeat(",?", n-1)+")", 1)), args...)
		if err != nil {
			return err
		}
		for rows.Next() {
			if err := row(rows); err != nil {
				rows.Close()
				return err
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

func (s *Store) HasChunks(ctx context.Context, keys []string) (map[string]bool, error) {
	return s.which(ctx, `SELECT key FROM index_chunks WHERE key IN (?)`, keys)
}

func (s *Store) ChunkData(ctx context.Context, keys []string, gzip bool) (map[string][]byte, error) {
	col := "raw"
	if gzip {
		col = "gz"
	}
	out := make(map[string][]byte, len(keys))
	err := s.inList(ctx, `SELECT key, `+col+` FROM index_chunks WHERE key IN (?)`, keys, func(rows *sql.Rows) error {
		var k string
		var b []byte
		if err := rows.Scan(&k, &b); err != nil {
			return err
		}
		out[k] = b
		return nil
	})
	return out, err
}
