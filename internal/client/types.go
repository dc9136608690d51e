package client

import "time"

// The JSON shapes of docs/api.md. Checksums are lower-case hex; times are
// RFC 3339.

// Push result statuses.
const (
	StatusStored  = "stored"  // new bytes, stored and added to the branch
	StatusLinked  = "linked"  // known bytes, added to the branch
	StatusExists  = "exists"  // the branch already had this package
	StatusMissing = "missing" // the server lacks the bytes: send the body
	StatusError   = "error"   // see PushResult.Error
)

// PushEntry is one file of a batch push check.
type PushEntry struct {
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	Filename string `json:"filename"`
}

// PushResult is the server's answer about one pushed file.
type PushResult struct {
	SHA256  string    `json:"sha256"`
	Status  string    `json:"status"`
	Package *Package  `json:"package,omitempty"`
	Error   *APIError `json:"error,omitempty"` // set when Status is StatusError
}

type pushCheckRequest struct {
	Packages []PushEntry `json:"packages"`
}

type pushCheckResponse struct {
	Results []PushResult `json:"results"`
}

// pushAnswer is the answer to a single PUT push.
type pushAnswer struct {
	Status  string   `json:"status"`
	Package *Package `json:"package"`
}

func (a pushAnswer) result(sha256 string) PushResult {
	r := PushResult{SHA256: sha256, Status: a.Status, Package: a.Package}
	if a.Package != nil && a.Package.SHA256 != "" {
		r.SHA256 = a.Package.SHA256
	}
	return r
}

// Project is one product line.
type Project struct {
	Name          string    `json:"name"`
	DefaultBranch string    `json:"default_branch"`
	CreatedAt     time.Time `json:"created_at"`
}

// Branch is a named set of packages in one project.
type Branch struct {
	Name         string    `json:"name"`
	PackageCount int       `json:"package_count"`
	UpdatedAt    time.Time `json:"updated_at"`
}

// Package is one uploaded package file, as the server parsed it.
type Package struct {
	SHA256       string         `json:"sha256"`
	Size         int64          `json:"size"`
	Format       string         `json:"format"` // deb, rpm, apk, pacman, …
	Name         string         `json:"name"`
	Version      string         `json:"version"`
	Architecture string         `json:"architecture"`
	MD5          string         `json:"md5,omitempty"`
	SHA1         string         `json:"sha1,omitempty"`
	SHA512       string         `json:"sha512,omitempty"`
	Filename     string         `json:"filename,omitempty"`
	Control      []ControlField `json:"control,omitempty"`
	CreatedAt    time.Time      `json:"created_at,omitzero"`
}

// ControlField is one field of a package's metadata. Control fields are a
// list, not a map, because their order is part of what index files show.
type ControlField struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Token kinds.
const (
	TokenAdmin  = "admin"
	TokenUpload = "upload"
	TokenRead   = "read"
)

// Token is an API token. Token holds the secret, and only in the answer
// that created it: the server keeps a hash.
// Keys names the keys a server signs with.
type Keys struct {
	Fingerprint string `json:"fingerprint"`  // of the OpenPGP key: apt, dnf, pacman
	OpenPGP     string `json:"openpgp"`      // URL of the armored public key
	APKKeyName  string `json:"apk_key_name"` // apk's key file name, less ".rsa.pub"
}

type Token struct {
	ID          string   `json:"id"`
	Kind        string   `json:"kind"`
	Projects    []string `json:"projects"`
	Description string   `json:"description"`
	Token       string   `json:"token,omitempty"`
}

// Repository is a named group of projects that package managers point at.
type Repository struct {
	Name     string   `json:"name"`
	Projects []string `json:"projects"`
}
