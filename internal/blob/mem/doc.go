// Package mem is a blob.Store held in memory, for tests of the code above
// the store. It keeps the same promises as the stores that hold real data.
package mem
