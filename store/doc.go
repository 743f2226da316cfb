// Package store owns carebot's database: opening the bbolt file with a lock
// timeout, the registry of bucket names, the versioned JSON encoding of
// values, a small transactional key-value interface and hot backups.
//
// It is the only package that imports bbolt. Domain packages work through
// Tx so that another ordered, transactional backend (etcd) can replace bbolt
// without touching them. Store knows nothing about members, tickets or
// messages: it stores bytes under keys in named buckets.
package store
