package sqlmeta

// migrations are applied in order, each once, in a transaction. They are
// written once for both dialects; {{id}} and {{bool}} are the only words
// that differ. Never edit a migration that has shipped: add one.
var migrations = []string{
	`
CREATE TABLE projects (
	id {{id}},
	name TEXT NOT NULL UNIQUE,
	default_branch TEXT NOT NULL,
	created BIGINT NOT NULL
);
CREATE TABLE repositories (
	id {{id}},
	name TEXT NOT NULL UNIQUE,
	architectures TEXT NOT NULL DEFAULT '',
	created BIGINT NOT NULL
);
CREATE TABLE repository_projects (
	repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
	project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	PRIMARY KEY (repository_id, project_id)
);
CREATE TABLE branches (
	id {{id}},
	project_id BIGINT NOT NULL REFERENCES projects(id) ON DELETE CASCADE,
	name TEXT NOT NULL,
	gen BIGINT NOT NULL DEFAULT 0,
	created BIGINT NOT NULL,
	updated BIGINT NOT NULL,
	UNIQUE (project_id, name)
);
CREATE TABLE packages (
	id {{id}},
	sha256 TEXT NOT NULL UNIQUE,
	size BIGINT NOT NULL,
	md5 TEXT NOT NULL,
	sha1 TEXT NOT NULL,
	sha512 TEXT NOT NULL,
	format TEXT NOT NULL,
	name TEXT NOT NULL,
	version TEXT NOT NULL,
	arch TEXT NOT NULL,
	control TEXT NOT NULL,
	filename TEXT NOT NULL,
	created BIGINT NOT NULL
);
CREATE TABLE branch_packages (
	branch_id BIGINT NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
	package_id BIGINT NOT NULL REFERENCES packages(id),
	name TEXT NOT NULL,
	version TEXT NOT NULL,
	arch TEXT NOT NULL,
	added BIGINT NOT NULL,
	PRIMARY KEY (branch_id, package_id),
	UNIQUE (branch_id, name, arch, version)
);
CREATE INDEX branch_packages_package ON branch_packages (package_id);
CREATE TABLE branch_log (
	branch_id BIGINT NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
	gen BIGINT NOT NULL,
	added {{bool}} NOT NULL,
	package_id BIGINT NOT NULL,
	at BIGINT NOT NULL,
	PRIMARY KEY (branch_id, gen, package_id)
);
CREATE TABLE tokens (
	id {{id}},
	hash TEXT NOT NULL UNIQUE,
	kind TEXT NOT NULL,
	projects TEXT NOT NULL DEFAULT '',
	description TEXT NOT NULL DEFAULT '',
	created BIGINT NOT NULL
);
CREATE TABLE publications (
	repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
	suite TEXT NOT NULL,
	inputs TEXT NOT NULL,
	date BIGINT NOT NULL,
	valid_until BIGINT NOT NULL,
	release TEXT NOT NULL,
	inrelease TEXT NOT NULL,
	release_gpg TEXT NOT NULL,
	PRIMARY KEY (repository_id, suite)
);
CREATE TABLE index_files (
	repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
	suite TEXT NOT NULL,
	path TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	size BIGINT NOT NULL,
	chunks TEXT NOT NULL,
	published BIGINT NOT NULL,
	PRIMARY KEY (repository_id, suite, sha256)
);
CREATE INDEX index_files_path ON index_files (repository_id, suite, path, published);
CREATE TABLE index_chunks (
	key TEXT PRIMARY KEY,
	raw TEXT NOT NULL,
	raw_size BIGINT NOT NULL,
	gz TEXT NOT NULL,
	gz_size BIGINT NOT NULL
);
`,
	// Index data moves into the database: a publication is then one
	// transaction (one flush to disk) that holds its Release files, its
	// index files and their new chunks, and switches atomically. All of
	// it is derived, so the old tables are dropped, not converted: views
	// are published again on their next read.
	`
DROP TABLE index_chunks;
DROP TABLE index_files;
DROP TABLE publications;
CREATE TABLE publications (
	repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
	suite TEXT NOT NULL,
	inputs TEXT NOT NULL,
	date BIGINT NOT NULL,
	valid_until BIGINT NOT NULL,
	release {{bytes}} NOT NULL,
	inrelease {{bytes}} NOT NULL,
	release_gpg {{bytes}} NOT NULL,
	PRIMARY KEY (repository_id, suite)
);
CREATE TABLE index_files (
	repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
	suite TEXT NOT NULL,
	path TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	size BIGINT NOT NULL,
	gzip {{bool}} NOT NULL,
	chunks TEXT NOT NULL,
	published BIGINT NOT NULL,
	PRIMARY KEY (repository_id, suite, sha256)
);
CREATE INDEX index_files_path ON index_files (repository_id, suite, path, published);
CREATE TABLE index_chunks (
	key TEXT PRIMARY KEY,
	raw {{bytes}} NOT NULL,
	gz {{bytes}} NOT NULL,
	created BIGINT NOT NULL
);
`,
	// Several package formats. A branch holds one package per format,
	// name, architecture and version, so that an rpm and an Arch package
	// of the same name and version live side by side; the branch's rows
	// are copied over. Publications are per format and keep their signed
	// files in a table of their own; being derived, they are dropped and
	// made again on the next read. Two index files may have the same
	// bytes (two architectures that have only architecture-independent
	// packages), so a file is named by its hash and its path.
	`
CREATE TABLE branch_entries (
	branch_id BIGINT NOT NULL REFERENCES branches(id) ON DELETE CASCADE,
	package_id BIGINT NOT NULL REFERENCES packages(id),
	format TEXT NOT NULL,
	name TEXT NOT NULL,
	version TEXT NOT NULL,
	arch TEXT NOT NULL,
	added BIGINT NOT NULL,
	PRIMARY KEY (branch_id, package_id),
	UNIQUE (branch_id, format, name, arch, version)
);
INSERT INTO branch_entries (branch_id, package_id, format, name, version, arch, added)
	SELECT bp.branch_id, bp.package_id, p.format, bp.name, bp.version, bp.arch, bp.added
	FROM branch_packages bp JOIN packages p ON p.id = bp.package_id;
DROP TABLE branch_packages;
ALTER TABLE branch_entries RENAME TO branch_packages;
CREATE INDEX branch_packages_package ON branch_packages (package_id);
DROP TABLE index_files;
DROP TABLE publications;
CREATE TABLE publications (
	repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
	format TEXT NOT NULL,
	suite TEXT NOT NULL,
	inputs TEXT NOT NULL,
	content TEXT NOT NULL,
	date BIGINT NOT NULL,
	valid_until BIGINT NOT NULL,
	PRIMARY KEY (repository_id, format, suite)
);
CREATE TABLE publication_files (
	repository_id BIGINT NOT NULL,
	format TEXT NOT NULL,
	suite TEXT NOT NULL,
	path TEXT NOT NULL,
	data {{bytes}} NOT NULL,
	PRIMARY KEY (repository_id, format, suite, path),
	FOREIGN KEY (repository_id, format, suite) REFERENCES publications (repository_id, format, suite) ON DELETE CASCADE
);
CREATE TABLE index_files (
	repository_id BIGINT NOT NULL REFERENCES repositories(id) ON DELETE CASCADE,
	format TEXT NOT NULL,
	suite TEXT NOT NULL,
	path TEXT NOT NULL,
	sha256 TEXT NOT NULL,
	size BIGINT NOT NULL,
	gzip {{bool}} NOT NULL,
	chunks TEXT NOT NULL,
	published BIGINT NOT NULL,
	PRIMARY KEY (repository_id, format, suite, sha256, path)
);
CREATE INDEX index_files_path ON index_files (repository_id, format, suite, path, published);
`,
	// A branch's rows carry their package's SHA-256, so that listing a
	// branch reads its own rows only: the join to packages, whose rows
	// hold the control data, cost most of a first publication's listing.
	`
ALTER TABLE branch_packages ADD COLUMN sha256 TEXT NOT NULL DEFAULT '';
UPDATE branch_packages SET sha256 = (SELECT p.sha256 FROM packages p WHERE p.id = branch_packages.package_id);
`,
}
