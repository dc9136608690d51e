package rpmmd

// The tests of package rpmmd_test read packages with internal/rpm, which
// imports this package; these are the helpers they share with ours.
var (
	BuildReference = buildReference
	ParseDocuments = parseDocuments
	DiffPackage    = diffPackage
	FirstDiff      = firstDiff
	Documents      = documents
)
